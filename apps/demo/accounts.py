"""Demo accounts: about 60 companies across every level and industry, with contacts."""

import random
from datetime import timedelta

from django.utils import timezone

from apps.accounts.models import Account, Contact, Industry, RelationshipLevel
from apps.accounts.services import create_account, create_contact, raise_relationship_level
from apps.users.models import User

ACCOUNT_COUNT = 60
NAME_STARTS = [
    "Nordic",
    "Harbour",
    "Bluefin",
    "Granite",
    "Meadow",
    "Copper",
    "Aurora",
    "Lindholm",
    "Silverline",
    "Northwind",
    "Fjord",
    "Oakridge",
    "Baltic",
    "Evergreen",
    "Kestrel",
    "Riverside",
]
NAME_ENDS = [
    "Steelworks",
    "Logistics",
    "Health",
    "Foods",
    "Energy",
    "Analytics",
    "Insurance",
    "Robotics",
    "Pharma",
    "Retail Group",
    "Engineering",
    "Academy",
    "Municipality",
    "Partners",
]
FIRST_NAMES = [
    "Astrid",
    "Bjorn",
    "Camille",
    "Dmitri",
    "Elena",
    "Finn",
    "Grace",
    "Henrik",
    "Isabel",
    "Jakob",
    "Karin",
    "Lars",
    "Mette",
    "Nils",
    "Olivia",
    "Per",
    "Rasmus",
    "Sofia",
    "Tobias",
]
LAST_NAMES = [
    "Andersen",
    "Bakker",
    "Carlsson",
    "Dubois",
    "Eklund",
    "Friis",
    "Gustafsson",
    "Hansen",
    "Iversen",
    "Johansson",
    "Kowalski",
    "Lund",
    "Madsen",
    "Nielsen",
    "Olsen",
    "Pedersen",
]
JOB_TITLES = [
    "CEO",
    "CFO",
    "Head of Purchasing",
    "Operations Director",
    "IT Manager",
    "Project Lead",
    "Procurement Specialist",
    "Head of Sales",
    "Plant Manager",
    "Chief Digital Officer",
]
# Most accounts are low on the ladder; few climb to the top.
LEVEL_WEIGHTS = {
    RelationshipLevel.SUSPECT: 14,
    RelationshipLevel.PROSPECT: 14,
    RelationshipLevel.SHOPPER: 10,
    RelationshipLevel.CLIENT: 10,
    RelationshipLevel.MEMBER: 6,
    RelationshipLevel.AMBASSADOR: 4,
    RelationshipLevel.POSITIVE_ACTIVIST: 2,
}


def seed(rng: random.Random, reps: list[User]) -> list[Account]:
    """Create the demo accounts that do not exist yet; each climbs to its level over time.

    Backdating the history rows is for demo data only: the product never edits history.
    """
    names = rng.sample(
        [f"{start} {end}" for start in NAME_STARTS for end in NAME_ENDS], k=ACCOUNT_COUNT
    )
    levels = list(LEVEL_WEIGHTS)
    # Every level and industry appears at least once; the rest follow the weights.
    chosen_levels = levels + rng.choices(
        levels, weights=LEVEL_WEIGHTS.values(), k=ACCOUNT_COUNT - len(levels)
    )
    industries = list(Industry)
    chosen_industries = industries + rng.choices(industries, k=ACCOUNT_COUNT - len(industries))
    now = timezone.now()
    accounts = []
    for index, name in enumerate(names):
        owner = reps[index % len(reps)]
        level = chosen_levels[index]
        # Drawn for every account, existing or not, so the draws after it stay the same.
        created = now - timedelta(days=rng.randint(400, 730))
        contacts = rng.randint(0 if level == RelationshipLevel.SUSPECT else 1, 4)
        domain = name.lower().replace(" ", "-")
        if existing := Account.objects.filter(name=name).first():
            accounts.append(existing)
            continue
        account = create_account(
            user=owner,
            data={
                "name": name,
                "owner": owner,
                "website": f"https://www.{domain}.example",
                "industry": chosen_industries[index],
                "relationship_level": RelationshipLevel.SUSPECT,
                "notes": "",
            },
        )
        Account.objects.filter(pk=account.pk).update(created_at=created)
        Account.history.filter(id=account.pk).update(history_date=created)
        # Climb the ladder one rung at a time, each step recorded with its date.
        step_date = created
        for rung in range(RelationshipLevel.PROSPECT, level + 1):
            step_date = min(step_date + timedelta(days=rng.randint(20, 90)), timezone.now())
            raise_relationship_level(account=account, level=rung, user=owner)
            latest = Account.history.filter(id=account.pk).latest("history_id")
            Account.history.filter(history_id=latest.history_id).update(history_date=step_date)
        for number in range(contacts):
            first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
            create_contact(
                account=account,
                user=owner,
                data={
                    "name": f"{first} {last}",
                    "job_title": rng.choice(JOB_TITLES),
                    "email": f"{first}.{last}@{domain}.example".lower(),
                    "phone": "+45 " + " ".join(str(rng.randint(10, 99)) for _ in range(4)),
                    "is_primary": number == 0,
                    "notes": "",
                },
            )
        Contact.objects.filter(account=account).update(created_at=created)
        accounts.append(account)
    return accounts
