"""grant_role, and roles granted from the model's admin page."""

from io import StringIO

import pytest
from django.contrib.auth.models import Group
from django.core.management import CommandError, call_command

from access import roles
from access.models import AuditEntry, ModelRole
from tests.factories import make_model, make_user

pytestmark = pytest.mark.django_db


def grant(*args) -> str:
    out = StringIO()
    call_command("grant_role", *args, stdout=out)
    return out.getvalue()


def test_grant_role_gives_and_takes_a_role_on_named_models(model):
    bob = make_user("bob")
    other = make_model("other")
    assert "bob is editor of fraud" in grant("bob", "editor", "fraud", "other")
    assert roles.role_of(bob, model) == roles.role_of(bob, other) == "editor"
    grant("bob", "viewer", "fraud", "--revoke")
    assert roles.role_of(bob, model) is None and roles.role_of(bob, other) == "editor"
    assert AuditEntry.objects.filter(object_type="access.ModelRole", source="command").count() == 3


def test_grant_role_all_models_uses_the_role_group(model):
    bob = make_user("bob")
    assert 'joined "all models: viewer"' in grant("bob", "viewer", "--all-models")
    assert roles.role_of(bob, make_model("later")) == "viewer"
    grant("bob", "viewer", "--all-models", "--revoke")
    bob = type(bob).objects.get(pk=bob.pk)  # Django caches a user's permissions on the object
    assert roles.role_of(bob, model) is None


def test_grant_role_to_a_group(model):
    Group.objects.create(name="team")
    grant("team", "admin", "fraud", "--group")
    member = make_user("bob")
    member.groups.add(Group.objects.get(name="team"))
    assert roles.role_of(member, model) == "admin"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("nobody", "viewer", "fraud"), 'No user "nobody"'),
        (("bob", "viewer", "nope"), 'No model "nope"'),
        (("bob", "viewer"), "Name the models, or pass --all-models"),
    ],
)
def test_grant_role_refuses_what_does_not_exist(model, args, message):
    make_user("bob")
    with pytest.raises(CommandError, match=message):
        grant(*args)


def management_form(prefix: str, total: int, initial: int) -> dict:
    return {
        f"{prefix}-TOTAL_FORMS": total,
        f"{prefix}-INITIAL_FORMS": initial,
        f"{prefix}-MIN_NUM_FORMS": 0,
        f"{prefix}-MAX_NUM_FORMS": 1000,
    }


def test_the_model_admin_page_grants_roles_inline(client, model):
    root = make_user("root", staff=True, is_superuser=True)
    bob = make_user("bob")
    client.force_login(root)
    page = client.get(f"/admin/models_app/model/{model.pk}/change/")
    assert page.status_code == 200 and b"roles-TOTAL_FORMS" in page.content
    version = model.versions.get()
    data = {
        "name": "fraud",
        "task": model.task,
        "framework": model.framework,
        "description": "",
        "tags": "[]",
        "features": "[]",
        **management_form("versions", 1, 1),
        "versions-0-id": version.pk,
        "versions-0-model": model.pk,
        "versions-0-version": "1",
        "versions-0-created_at_0": version.created_at.strftime("%Y-%m-%d"),
        "versions-0-created_at_1": version.created_at.strftime("%H:%M:%S"),
        "versions-0-notes": "",
        **management_form("roles", 1, 0),
        "roles-0-user": bob.pk,
        "roles-0-role": "editor",
    }
    response = client.post(f"/admin/models_app/model/{model.pk}/change/", data)
    assert response.status_code == 302, response.context["errors"] if response.context else ""
    grant_row = ModelRole.objects.get()
    assert (grant_row.user, grant_row.role, grant_row.granted_by) == (bob, "editor", root)
    assert roles.role_of(bob, model) == "editor"


def test_a_grant_with_both_a_user_and_a_group_is_refused_in_the_admin(client, model):
    client.force_login(make_user("root", staff=True, is_superuser=True))
    team = Group.objects.create(name="team")
    page = client.post(
        "/admin/access/modelrole/add/",
        {"model": model.pk, "user": make_user("bob").pk, "group": team.pk, "role": "viewer"},
    )
    assert page.status_code == 200 and b"either a user or a group" in page.content
    assert not ModelRole.objects.exists()
