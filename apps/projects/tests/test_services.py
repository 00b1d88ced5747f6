import pytest
from django.core.exceptions import ValidationError

from apps.accounts.factories import AccountFactory
from apps.pipeline.factories import ProjectFactory
from apps.projects import services


def test_a_note_needs_text(rep):
    project = ProjectFactory(account=AccountFactory(owner=rep))
    with pytest.raises(ValidationError):
        services.add_note(project=project, user=rep, text="   ")
    assert not project.notes.exists()
