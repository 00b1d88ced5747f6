import csv
import io

import factory

from apps.accounts.models import Account, Contact, Industry, RelationshipLevel
from apps.users.factories import RepFactory


class AccountFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Account

    name = factory.Sequence(lambda n: f"Account {n:04d}")
    website = factory.LazyAttribute(
        lambda account: f"https://{account.name.lower().replace(' ', '-')}.example"
    )
    industry = Industry.MANUFACTURING
    owner = factory.SubFactory(RepFactory)
    relationship_level = RelationshipLevel.SUSPECT


class ContactFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Contact

    account = factory.SubFactory(AccountFactory)
    name = factory.Sequence(lambda n: f"Contact {n:04d}")
    job_title = "Head of Purchasing"
    email = factory.Sequence(lambda n: f"contact{n}@example.com")


def csv_rows(response) -> list[dict]:
    """The rows of a CSV export (a streamed, UTF-8 file with a byte order mark), as dicts."""
    content = b"".join(response.streaming_content).decode("utf-8-sig")
    return list(csv.DictReader(io.StringIO(content)))
