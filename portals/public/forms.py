"""Forms of the public pages (Flask-WTF: every one carries a CSRF token)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, HiddenField, PasswordField, StringField
from wtforms.validators import DataRequired, Email, EqualTo, Length, Optional

EMAIL = [DataRequired("Enter your email."), Email("Enter a valid email address."), Length(max=254)]


class HumanCheckFields:
    """reCAPTCHA v3's token, or the self-hosted challenge's token and answer."""

    recaptcha_token = HiddenField()
    challenge_token = HiddenField()
    challenge_answer = StringField("Security question", validators=[Optional(), Length(max=6)])


class LoginForm(HumanCheckFields, FlaskForm):
    email = EmailField("Email", validators=EMAIL)
    password = PasswordField("Password", validators=[DataRequired("Enter your password."), Length(max=200)])


class SignupForm(HumanCheckFields, FlaskForm):
    full_name = StringField("Full name", validators=[DataRequired("Enter your name."), Length(max=200)])
    email = EmailField("Email", validators=EMAIL)
    password = PasswordField("Password", validators=[DataRequired("Choose a password."), Length(max=200)])
    accept_terms = BooleanField("I accept the terms of use and the privacy notice")  # SPEC §21: never pre-ticked


class ForgotForm(FlaskForm):
    email = EmailField("Email", validators=EMAIL)


class ResetForm(FlaskForm):
    password = PasswordField("New password", validators=[DataRequired("Choose a password."), Length(max=200)])
    confirm = PasswordField("Repeat the new password",
                            validators=[EqualTo("password", "The two passwords differ.")])
