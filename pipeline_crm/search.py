"""Finding accounts, contacts and projects by name with what core PostgreSQL offers (the
embedded server has no contrib extensions: no pg_trgm, no unaccent).

Each searchable table keeps a generated `search` column: the name's words, folded to plain
lower-case letters (accents dropped by `translate`, case by `lower` after it, so the result
does not depend on the database's locale for Latin letters; other scripts are lower-cased by
its UTF-8 locale as by Python), as a full-text vector of the 'simple' configuration, under a
GIN index. A query folds what was typed the same way, here in Python
from the same table, and matches every word as a prefix: "kob fjel" finds "Købmand Fjeldsø".
"""

import re
import unicodedata

from django.contrib.postgres.expressions import ArraySubquery
from django.contrib.postgres.search import SearchQuery, SearchVector
from django.db.models import BooleanField, F, Func, QuerySet, Value
from django.db.models.functions import Lower

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


def search_vector(field: str) -> SearchVector:
    """The generated column's expression over `field` (see the module's docstring)."""
    folded = Lower(Func(F(field), Value(ACCENTED), Value(PLAIN), function="translate"))
    return SearchVector(folded, config="simple")


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
