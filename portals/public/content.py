"""Public content pages: how it works, pricing, the legal pages and the blog (SPEC §7, §8).

Legal pages and blog posts are Markdown files under the content folder (`CONTENT_DIR`), loaded
and rendered by `core.content`; an unknown or malformed slug is the site's 404 page.
"""

from __future__ import annotations

from flask import render_template, request
from flask_login import current_user
from markupsafe import Markup

from core import config
from core.content import Document, list_documents, load_document
from core.errors import NotFound
from core.payments import subscriptions
from core.payments.plans import CONSULTATION_MINUTES, LATE_DOCTOR_CANCELLATION_CREDIT_CENTS, PAY_PER_VISIT_CENTS, PLANS
from portals.i18n import _, current_language
from portals.public import public

LEGAL, BLOG = "legal", "blog"


def _document(section: str, slug: str, what: str) -> Document:
    document = load_document(config.current().content_dir, section, slug, current_language())
    if document is None:
        raise NotFound(what)
    return document


@public.get("/how-it-works")
def how_it_works():
    return render_template("public/how_it_works.html", visit_cents=PAY_PER_VISIT_CENTS, minutes=CONSULTATION_MINUTES)


@public.get("/pricing")
def pricing():
    """Prices and plans; a signed-in patient also sees their plan, and the outcome of the plan
    checkout they return from (`?plan_session=`, Stripe's success_url)."""
    current, returned = None, None
    if current_user.is_authenticated and current_user.role == "patient":
        current = subscriptions.current_plan(current_user.actor)
        if request.args.get("plan_session"):
            returned = subscriptions.plan_session(current_user.actor, request.args["plan_session"][:255])
    return render_template("public/pricing.html", visit_cents=PAY_PER_VISIT_CENTS, plans=PLANS,
                           minutes=CONSULTATION_MINUTES, late_credit_cents=LATE_DOCTOR_CANCELLATION_CREDIT_CENTS,
                           current_plan=current, returned=returned)


# Markup(...) below: core.content escapes every raw HTML tag and checks every link and image, so
# the rendered body is safe to insert as is.


@public.get("/legal/<slug>")
def legal_page(slug: str):
    document = _document(LEGAL, slug, _("We could not find that legal page."))
    others = sorted(list_documents(config.current().content_dir, LEGAL, current_language()), key=lambda d: d.title)
    return render_template("public/legal.html", document=document, body=Markup(document.html),  # noqa: S704
                           documents=others)


@public.get("/blog")
def blog_index():
    return render_template("public/blog_index.html",
                           posts=list_documents(config.current().content_dir, BLOG, current_language()))


@public.get("/blog/<slug>")
def blog_post(slug: str):
    post = _document(BLOG, slug, _("We could not find that article."))
    return render_template("public/blog_post.html", post=post, body=Markup(post.html))  # noqa: S704
