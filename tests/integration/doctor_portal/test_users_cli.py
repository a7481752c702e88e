"""`doktu users create-admin` and `doktu users invite-doctor` (SPEC §19) against PostgreSQL."""

from sqlalchemy import func, select

from core.actor import SYSTEM
from core.db import unit_of_work
from core.doctors import onboarding
from core.models import DoctorInvitation, User
from portals.cli import users_group

PASSWORD = "Correct-Horse-Battery-42"


def test_create_admin_from_the_environment_and_refuse_a_duplicate(app, db):
    runner = app.test_cli_runner()
    result = runner.invoke(users_group, ["create-admin", "Ops@Tests.Doktu.eu", "--name", "Ops"],
                           env={"DOKTU_ADMIN_PASSWORD": PASSWORD})
    assert result.exit_code == 0, result.output
    assert "Admin ops@tests.doktu.eu created." in result.output
    with unit_of_work(SYSTEM) as uow:
        assert uow.session.scalar(select(User.role).where(User.email == "ops@tests.doktu.eu")) == "admin"
    again = runner.invoke(users_group, ["create-admin", "ops@tests.doktu.eu"], env={"DOKTU_ADMIN_PASSWORD": PASSWORD})
    assert again.exit_code == 1 and "already exists" in again.output
    weak = runner.invoke(users_group, ["create-admin", "weak@tests.doktu.eu"], env={"DOKTU_ADMIN_PASSWORD": "abc"})
    assert weak.exit_code == 1


def test_create_admin_prompts_for_the_password(app, db):
    result = app.test_cli_runner().invoke(users_group, ["create-admin", "prompt@tests.doktu.eu"],
                                          input=f"{PASSWORD}\n{PASSWORD}\n")
    assert result.exit_code == 0, result.output
    assert PASSWORD not in result.output


def test_invite_doctor_prints_a_working_link(app, db):
    result = app.test_cli_runner().invoke(users_group, ["invite-doctor", "cli.doc@tests.doktu.eu"])
    assert result.exit_code == 0, result.output
    token = result.output.strip().rsplit("/join/", 1)[1]
    assert onboarding.check_invitation(token) == "cli.doc@tests.doktu.eu"
    with unit_of_work(SYSTEM) as uow:
        assert uow.session.scalar(select(func.count()).select_from(DoctorInvitation)) == 1


def test_invite_doctor_in_the_language_asked_for(app, db):
    """The invitee has no account (no saved language): the operator chooses (SPEC §20)."""
    from core.models import OutboxMessage

    result = app.test_cli_runner().invoke(users_group, ["invite-doctor", "de.doc@tests.doktu.eu", "--language", "de"])
    assert result.exit_code == 0, result.output
    with unit_of_work(SYSTEM) as uow:
        mail = uow.session.scalar(select(OutboxMessage).where(OutboxMessage.recipient == "de.doc@tests.doktu.eu"))
    assert mail.subject == "Sie sind eingeladen, auf Doktu Sprechstunden anzubieten"
    refused = app.test_cli_runner().invoke(users_group, ["invite-doctor", "x@tests.doktu.eu", "--language", "xx"])
    assert refused.exit_code == 2  # click refuses an unknown language before anything is sent
