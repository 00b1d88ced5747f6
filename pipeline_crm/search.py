"""Finding accounts, contacts and projects by name with what core PostgreSQL offers (the
embedded server has no contrib extensions: no pg_trgm, no unaccent).

Each searchable table keeps a generated `search` column: the name's words, folded to plain
lower-case letters (accents dropped by `translate`, case by `lower` after it, so the result
does not depend on the database's locale for Latin letters; other scripts are lower-cased by
its UTF-8 locale as by Python), as a full-text vector of the 'simple' configuration, under a
GIN index. A query folds what was typed the same way, here in Python
from the same table, and matches every word as a prefix: "kob fjel" finds "Købmand Fjeldsø".
An account's column holds its website's words too, a contact's their e-mail address's and
their phone number's digits (`search_vector`), so "fjord.no" or "8161 3271" finds them.
"""

import re
import unicodedata

from django.contrib.postgres.expressions import ArraySubquery
from django.contrib.postgres.search import SearchQuery, SearchVector
from django.db.models import BooleanField, F, Func, QuerySet, Value
from django.db.models.functions import Lower, Substr

# Letters with accents and the plain letter each folds to, one for one (translate() maps
# one character to one: ß becomes s, æ and œ become a and o).
ACCENTED = (
    "ÀÁÂÃÄÅĀĂĄàáâãäåāăąÆæÇĆČçćčĎĐďđÈÉÊËĒĖĘĚèéêëēėęěĞğÌÍÎÏĪĮİìíîïīįıŁłÑŃŇñńňÒÓÔÕÖØŌŐŒòóôõöøōőœ"
    "ŔŘŕřŚŠŞśšşßŤŢťţÙÚÛÜŪŮŰŲùúûüūůűųÝŸýÿŽŹŻžźż"
)
_NOT_DECOMPOSED = {"Æ": "a", "æ": "a", "Đ": "d", "đ": "d", "ı": "i", "Ł": "l", "ł": "l"}
_NOT_DECOMPOSED |= {"Ø": "o", "ø": "o", "Œ": "o", "œ": "o", "ß": "s"}
PLAIN = "".join(
    _NOT_DECOMPOSED.get(letter) or unicodedata.normalize("NFKD", letter)[0].lower()
    for letter in ACCENTED
)
_FOLD = str.maketrans(ACCENTED, PLAIN)
_WORD = re.compile(r"[^\W_]+")  # letters and digits of any script
MAX_WORDS = 8  # more words typed than this are ignored: each one narrows, none widens


def fold(text: str) -> str:
    """`text` as the search column holds it: accents dropped, lower case."""
    return text.translate(_FOLD).lower()


def _folded(expression) -> Func:
    return Lower(Func(expression, Value(ACCENTED), Value(PLAIN), function="translate"))


def _spaced(expression) -> Func:
    """Every run of anything but letters and digits as one space: an address's parts are
    words ("anna.berg@fjord.no": anna berg fjord no), not one lexeme the parser keeps whole."""
    return Func(
        expression, Value(r"[^[:alnum:]]+"), Value(" "), Value("g"), function="regexp_replace"
    )


# A phone number's digits from each of its first places on: typed digits are found as the
# start of one of these wherever they are in the number, the country code typed or not,
# in groups or run together ("81 61", "8161 3271", "+45 81613271" all find +45 81 61 32 71).
PHONE_PLACES = 15  # digits of an international number (E.164) at most


def search_vector(field: str, *, addresses=(), phones=()) -> SearchVector:
    """The generated column's expression: the words of `field` (see the module's docstring),
    then those of each web or e-mail address in `addresses` (a whole address typed finds it,
    "https" and "www" too), then the digits of each phone number in `phones`."""
    parts = [_folded(F(field))]
    parts += [_spaced(_folded(F(name))) for name in addresses]
    for name in phones:
        digits = Func(F(name), Value("[^0-9]+"), Value(""), Value("g"), function="regexp_replace")
        parts += [Substr(digits, place) for place in range(1, PHONE_PLACES + 1)]
    return SearchVector(*parts, config="simple")


def search_query(text: str) -> SearchQuery | None:
    """Every word typed as a prefix, all required; None when nothing searchable was typed
    (only punctuation, say). Words are letters and digits only, so the query's own syntax
    (&, |, !, :, quotes) can never come from the user."""
    words = _WORD.findall(fold(text))[:MAX_WORDS]
    if not words:
        return None
    return SearchQuery(
        " & ".join(f"{word}:*" for word in words), search_type="raw", config="simple"
    )


class _EqualsAny(Func):
    """`<first> = ANY(<second>)`: the two expressions joined by " = ANY(", then ")"."""

    template = "%(expressions)s)"
    arg_joiner = " = ANY("
    output_field = BooleanField()


def equals_any(field: str, ids: QuerySet) -> Func:
    """`field = ANY(ARRAY(ids))`, a condition PostgreSQL can OR with another table's search
    as two bitmap index scans (an `IN (subquery)` in an OR makes it test every row)."""
    return _EqualsAny(F(field), ArraySubquery(ids.order_by()))
