"""Contact us (issue 25): the support pages of signed-in patients and doctors (/support), and the
public contact form for guests (/contact) with sign-up's abuse protection (a per-address rate
limit, reCAPTCHA v3 with keys, else the self-hosted challenge every time). Thin: the rules are in
core.support.inbox."""

from __future__ import annotations

import uuid

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import EmailField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from core import runtime
from core.errors import DomainError
from core.support import inbox
from portals.auth import require_role
from portals.i18n import _, refusal_text
from portals.i18n import lazy_gettext as _l
from portals.limits import challenge_solved, fresh_challenge, human_check_needed, limiter, recaptcha_site_key
from portals.public import public
from portals.public.forms import HumanCheckFields

PER_IP_CONTACT = "5 per hour"
USERS = ("patient", "doctor")


class NewConversationForm(FlaskForm):
    subject = StringField(_l("Subject"), validators=[DataRequired(_l("Give your message a subject.")),
                                                 Length(max=inbox.MAX_SUBJECT)])
    body = TextAreaField(_l("Your message"), validators=[DataRequired(_l("Write your message first.")),
                                                     Length(max=inbox.MAX_BODY)])


class ReplyForm(FlaskForm):
    body = TextAreaField(_l("Your answer"), validators=[DataRequired(_l("Write your message first.")),
                                                    Length(max=inbox.MAX_BODY)])


class ContactForm(HumanCheckFields, FlaskForm):
    name = StringField(_l("Your name"), validators=[Optional(), Length(max=200)])
    email = EmailField(_l("Your email"), validators=[DataRequired(_l("Enter your email address.")), Length(max=254)])
    subject = StringField(_l("Subject"), validators=[DataRequired(_l("Give your message a subject.")),
                                                 Length(max=inbox.MAX_SUBJECT)])
    body = TextAreaField(_l("Your message"), validators=[DataRequired(_l("Write your message first.")),
                                                     Length(max=inbox.MAX_BODY)])


def _home() -> str:
    return "/doctor/" if current_user.role == "doctor" else url_for("patient.dashboard")


@public.route("/support", methods=["GET", "POST"])
@require_role(*USERS)
def support():
    """The user's conversations with the care team and a new one."""
    form = NewConversationForm()
    error = None
    if form.validate_on_submit():
        try:
            conversation_id = inbox.start_conversation(current_user.actor, form.subject.data, form.body.data)
        except DomainError as exc:
            error = refusal_text(exc)
        else:
            flash(_("Sent. Our care team will answer here and by email."), "info")
            return redirect(url_for("public.support_conversation", conversation_id=conversation_id), code=303)
    status = 422 if request.method == "POST" else 200
    return render_template("public/support.html", form=form, error=error, home=_home(),
                           conversations=inbox.my_conversations(current_user.actor)), status


@public.route("/support/<uuid:conversation_id>", methods=["GET", "POST"])
@require_role(*USERS)
def support_conversation(conversation_id: uuid.UUID):
    form = ReplyForm()
    error = None
    if form.validate_on_submit():
        try:
            inbox.reply_as_user(current_user.actor, conversation_id, form.body.data)
        except DomainError as exc:
            error = refusal_text(exc)
        else:
            return redirect(url_for("public.support_conversation", conversation_id=conversation_id), code=303)
    conversation = inbox.my_conversation(current_user.actor, conversation_id)
    status = 422 if request.method == "POST" else 200
    return render_template("public/support_conversation.html", form=form, error=error, home=_home(),
                           conversation=conversation), status


def _check_needed(form: ContactForm) -> bool:
    """Sign-up's protection, stricter: without reCAPTCHA keys the challenge is asked every time
    (a guest has no account whose failures would show an attack)."""
    if challenge_solved(form.challenge_token.data, form.challenge_answer.data):
        return False
    if not runtime.current().settings.recaptcha_secret_key:
        return True
    return human_check_needed(form.email.data or "", form.recaptcha_token.data, "contact")


@public.route("/contact", methods=["GET", "POST"])
@limiter.limit(PER_IP_CONTACT, methods=["POST"])
def contact():
    """The public contact form; signed-in patients and doctors use their own support page."""
    if current_user.is_authenticated and current_user.role in USERS:
        return redirect(url_for("public.support"))
    form = ContactForm()
    error, sent = None, False
    if form.validate_on_submit():
        if _check_needed(form):
            error = _("Please answer the security question below.")
        else:
            try:
                inbox.start_guest_conversation(form.name.data, form.email.data, form.subject.data, form.body.data)
            except DomainError as exc:
                error = refusal_text(exc)
            else:
                sent = True
    elif request.method == "POST":
        error = _("Please check the fields below.")
    challenge = None if runtime.current().settings.recaptcha_secret_key and not error else fresh_challenge()
    status = 422 if error else 200
    return render_template("public/contact.html", form=form, error=error, sent=sent, challenge=challenge,
                           site_key=recaptcha_site_key()), status
