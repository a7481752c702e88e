"""Forms of the public pages (Flask-WTF: every one carries a CSRF token)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, HiddenField, PasswordField, StringField
from wtforms.validators import DataRequired, Email, EqualTo, Length, Optional

from portals.i18n import lazy_gettext as _

EMAIL = [DataRequired(_("Enter your email.")), Email(_("Enter a valid email address.")), Length(max=254)]


class HumanCheckFields:
    """reCAPTCHA v3's token, or the self-hosted challenge's token and answer."""

    recaptcha_token = HiddenField()
    challenge_token = HiddenField()
    challenge_answer = StringField(_("Security question"), validators=[Optional(), Length(max=6)])


class LoginForm(HumanCheckFields, FlaskForm):
    email = EmailField(_("Email"), validators=EMAIL)
    password = PasswordField(_("Password"), validators=[DataRequired(_("Enter your password.")), Length(max=200)])


class SignupForm(HumanCheckFields, FlaskForm):
    full_name = StringField(_("Full name"), validators=[DataRequired(_("Enter your name.")), Length(max=200)])
    email = EmailField(_("Email"), validators=EMAIL)
    password = PasswordField(_("Password"), validators=[DataRequired(_("Choose a password.")), Length(max=200)])
    accept_terms = BooleanField(_("I accept the terms of use and the privacy notice"))  # SPEC §21: never pre-ticked


class ForgotForm(FlaskForm):
    email = EmailField(_("Email"), validators=EMAIL)


class ResetForm(FlaskForm):
    password = PasswordField(_("New password"), validators=[DataRequired(_("Choose a password.")), Length(max=200)])
    confirm = PasswordField(_("Repeat the new password"),
                            validators=[EqualTo("password", _("The two passwords differ."))])
