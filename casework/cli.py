"""Command-line administration: ``flask --app casework <group> <command>``."""

from __future__ import annotations

import contextlib
import sys
import time
from collections.abc import Callable

import click
from flask import Flask, current_app
from flask.cli import AppGroup
from sqlmodel import select

from casework.access import hash_api_token, issue_api_token, new_staff
from casework.access_review import access_cli, revoke_token, revoke_tokens_of, set_active
from casework.clock import now
from casework.countries import is_country
from casework.db import db, writing
from casework.events import verify_chain
from casework.models import (
    NOTICE_STATUSES,
    STAFF_ROLES,
    ApiToken,
    Appeal,
    Event,
    Notice,
    Tribunal,
    User,
)

users_cli = AppGroup("users", help="Staff accounts.")
tokens_cli = AppGroup("tokens", help="API tokens.")
audit_cli = AppGroup("audit", help="Integrity checks.")
deadlines_cli = AppGroup("deadlines", help="Legal deadlines and their timers.")


@users_cli.command("add")
@click.argument("email")
@click.option("--role", type=click.Choice(STAFF_ROLES), required=True)
@click.option("--country", help="ISO country code of the user's institution (officers, mediators).")
@click.option("--tribunal", help="Tribunal code (tribunal users), e.g. CBSST.")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
def users_add(email, role, country, tribunal, password):
    """Add a staff user."""
    country = country.upper() if country else None
    if role in ("officer", "mediator") and not country:
        raise click.UsageError("--country is required for officers and mediators")
    if country and not is_country(country):
        raise click.UsageError(f"--country: '{country}' is not an ISO 3166-1 alpha-2 code")
    if role == "tribunal":
        tribunal = (tribunal or current_app.config["DEFAULT_TRIBUNAL"]).upper()
        if db.session.get(Tribunal, tribunal) is None:
            raise click.UsageError(f"--tribunal: no tribunal '{tribunal}'")
    with writing():
        if db.session.exec(select(User).where(User.email == email)).first():
            raise click.UsageError(f"a user {email} already exists")
        user = new_staff(db.session, email, role, password, country, tribunal)
        db.session.commit()
    click.echo(f"added {user.email} ({user.role}{', ' + country if country else ''}{', ' + tribunal if tribunal else ''})")


def _user(email: str) -> User:
    user = db.session.exec(select(User).where(User.email == email)).first()
    if user is None:
        raise click.UsageError(f"no user {email}")
    return user


def _set_active(email: str, active: bool) -> None:
    with writing():
        user = _user(email)
        changed = set_active(db.session, user, active, by="command line")
        db.session.commit()
    if not changed:
        click.echo(f"{email} was already {'active' if active else 'deactivated'}")
    elif active:
        click.echo(f"activated {email}: they can sign in, and their tokens that are not revoked or expired work again")
    else:
        click.echo(f"deactivated {email}: they cannot sign in and their tokens are refused; "
                   "a browser session they have open ends at its next request")


@users_cli.command("deactivate")
@click.argument("email")
def users_deactivate(email):
    """Stop a user signing in or using API tokens (reversible with "users activate")."""
    _set_active(email, False)


@users_cli.command("activate")
@click.argument("email")
def users_activate(email):
    """Let a deactivated user sign in and use their tokens again."""
    _set_active(email, True)


def _utc(moment) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC") if moment else "-"


@tokens_cli.command("issue")
@click.argument("email")
@click.option("--days", type=click.IntRange(min=1), default=None,
              help="Days until the token expires (default: API_TOKEN_DAYS, 90 unless configured).")
def tokens_issue(email, days):
    """Issue an API token; it is printed as the last line and never shown again."""
    user = _user(email)
    if not user.active:
        raise click.UsageError(f"{email} is deactivated: activate the account first")
    with writing():
        token = issue_api_token(db.session, user, days)
        db.session.commit()
    row = db.session.exec(select(ApiToken).where(ApiToken.token_hash == hash_api_token(token))).one()
    expiry = f"expires {_utc(row.expires_at)}" if row.expires_at else "never expires"
    click.echo(f"token {row.id} for {email} ({user.role}), {expiry}; store it now, it is not shown again:")
    click.echo(token)


@tokens_cli.command("list")
@click.argument("email", required=False)
def tokens_list(email):
    """List tokens (all, or one user's): id, user, created, expires, revoked. Never the tokens."""
    query = select(ApiToken, User.email).join(User, User.id == ApiToken.user_id)
    if email:
        query = query.where(ApiToken.user_id == _user(email).id)
    rows = db.session.exec(query.order_by(ApiToken.id)).all()
    moment = now()
    click.echo(f"{'ID':>6}  {'USER':<32} {'CREATED':<20} {'EXPIRES':<20} {'REVOKED':<20} STATUS")
    for token, user_email in rows:
        if token.revoked_at is not None:
            status = "revoked"
        elif token.expires_at is not None and token.expires_at <= moment:
            status = "expired"
        else:
            status = "active"
        expires = _utc(token.expires_at) if token.expires_at else "never"
        click.echo(f"{token.id:>6}  {user_email:<32} {_utc(token.created_at):<20} {expires:<20} "
                   f"{_utc(token.revoked_at):<20} {status}")
    click.echo(f"{len(rows)} token{'' if len(rows) == 1 else 's'}")


@tokens_cli.command("revoke")
@click.argument("token_id", metavar="ID", required=False, type=int)
@click.option("--user", "email", help="Revoke every working token of this user instead.")
def tokens_revoke(token_id, email):
    """Revoke a token by its id (see "tokens list"), or every token of a user (--user EMAIL)."""
    if (token_id is None) == (email is None):
        raise click.UsageError("give a token ID or --user EMAIL (one of them)")
    with writing():
        if email:
            count = revoke_tokens_of(db.session, _user(email), by="command line")
            db.session.commit()
            click.echo(f"revoked {count} token{'' if count == 1 else 's'} of {email}")
            return
        token = db.session.get(ApiToken, token_id)
        if token is None:
            raise click.UsageError(f"no token {token_id}")
        changed = revoke_token(db.session, token, by="command line")
        db.session.commit()
    click.echo(f"revoked token {token_id}" if changed
               else f"token {token_id} was already revoked on {_utc(token.revoked_at)}")


@audit_cli.command("verify")
def audit_verify():
    """Check every appeal's event hash chain; exit 1 naming the first break."""
    checked = 0
    session = db.session
    appeals = session.exec(select(Appeal.id, Appeal.reference, Appeal.last_event_hash).order_by(Appeal.id)).all()
    for appeal_id, reference, head in appeals:
        events = session.exec(select(Event).where(Event.appeal_id == appeal_id).order_by(Event.seq)).all()
        broken = verify_chain(reference, events, head)
        if broken:
            click.echo(f"{reference}: chain broken at event {broken.seq}: {broken.reason}")
            sys.exit(1)
        checked += 1
    click.echo(f"verified {checked} appeals: every event hash chain is intact")


@contextlib.contextmanager
def progress(length: Callable[[], int] | int, label: str):
    """A progress bar with counts and rate in a terminal, nothing otherwise; yields ``update(n)``."""
    if not sys.stdout.isatty():
        yield None
        return
    started = time.monotonic()
    total = length() if callable(length) else length
    with click.progressbar(length=total, label=label, show_pos=True, show_eta=True,
                           item_show_func=lambda done: f"{done / max(time.monotonic() - started, 1e-9):,.0f}/s" if done else None) as bar:
        done = 0

        def update(count: int) -> None:
            nonlocal done
            done += count
            bar.update(count, done)

        yield update


@deadlines_cli.command("sweep")
def deadlines_sweep():
    """Fire every due deadline now; last line ``fired N, failed M``."""
    from casework.deadlines.sweep import count_due, sweep

    with progress(count_due, "firing due deadlines") as update:
        result = sweep(progress=update)
    for error in result.errors[:20]:
        click.echo(error, err=True)
    click.echo(f"fired {result.fired}, failed {result.failed}")


notices_cli = AppGroup("notices", help="Notices to the parties and their delivery.")


@notices_cli.command("deliver")
def notices_deliver():
    """Deliver every notice that is due now (SMTP, or .eml files); last line ``sent N, ...``."""
    from casework.outbox import deliver

    result = deliver()
    for error in result.errors[:20]:
        click.echo(error, err=True)
    click.echo(f"sent {result.sent}, retrying {result.retrying}, failed {result.failed}, "
               f"no address {result.no_address}")


@notices_cli.command("list")
@click.option("--status", type=click.Choice(NOTICE_STATUSES), help="Only notices in this delivery status.")
@click.option("--appeal", "reference", help="Only the notices of this appeal.")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 10000))
def notices_list(status, reference, limit):
    """List notices with their delivery status, newest first (e.g. --status failed)."""
    query = select(Notice, Appeal.reference).join(Appeal, Appeal.id == Notice.appeal_id)
    if status:
        query = query.where(Notice.status == status)
    if reference:
        query = query.where(Appeal.reference == reference)
    for notice, ref in db.session.exec(query.order_by(Notice.id.desc()).limit(limit)):
        problem = f"  {notice.last_error}" if notice.last_error else ""
        click.echo(f"{notice.id:>8} {ref} {notice.status:<10} {notice.attempts:>2} {notice.language} "
                   f"{notice.recipient_role:<20} {notice.subject}{problem}")


@notices_cli.command("show")
@click.argument("reference")
@click.option("--role", help="Only notices to this party (claimant, institution, involved_institution, mediator, tribunal).")
def notices_show(reference, role):
    """Print the notices of one appeal in full, oldest first, as their recipients read them."""
    query = select(Notice).join(Appeal, Appeal.id == Notice.appeal_id).where(Appeal.reference == reference)
    if role:
        query = query.where(Notice.recipient_role == role)
    for notice in db.session.exec(query.order_by(Notice.id)):
        click.echo(f"--- notice {notice.id} to {notice.recipient_role} ({notice.language}), {notice.status}")
        click.echo(f"Subject: {notice.subject}\n\n{notice.body}")


@notices_cli.command("retry")
@click.argument("ids", nargs=-1, type=int)
@click.option("--all", "all_failed", is_flag=True, help="Every failed or undeliverable notice.")
def notices_retry(ids, all_failed):
    """Queue failed notices again, after the cause (server, address) has been fixed."""
    from casework.outbox import retry

    if not ids and not all_failed:
        raise click.UsageError("give notice ids or --all")
    click.echo(f"queued {retry(None if all_failed else list(ids))} notices again")


demo_cli = AppGroup("demo", help="Synthetic demo data.")


def _print_demo(lines: list[str]) -> None:
    from casework import demo

    click.echo("\nStaff accounts (password for all: %s) and fresh API tokens:" % demo.PASSWORD)
    for user, token in demo.issue_tokens():
        where = user.country or user.tribunal_code or ""
        click.echo(f"  {user.role:<9} {where:<5} {user.email:<32} {token}")
    if lines:
        click.echo("\nClaimants (reference, access code, state) — try GET /api/v1/status/<reference> "
                   "with header X-Access-Code:")
        for line in lines[:8]:
            click.echo("  " + line)
        click.echo(f"  … all {len(lines)} in {demo.access_codes_path()}")


@demo_cli.command("seed")
def demo_seed():
    """Add the demo appeals and staff (once) and print the sign-in details."""
    from casework import demo

    _print_demo(demo.ensure())


@demo_cli.command("generate")
@click.option("--appeals", required=True, type=click.IntRange(min=1), help="How many appeals to add.")
@click.option("--seed", default=1, show_default=True, type=int, help="The same seed makes the same appeals.")
@click.option("--years", default=5, show_default=True, type=click.IntRange(1, 30),
              help="Appeals are lodged over this many years up to now.")
@click.option("--access-code", default=None, help="The access code of every generated appeal (default: a new one).")
@click.option("--processes", default=None, type=click.IntRange(min=1),
              help="Worker processes that simulate the appeals (default: one per CPU).")
def demo_generate(appeals, seed, years, access_code, processes):
    """Bulk-insert synthetic appeals with their histories, deadlines and notices."""
    from casework import generate

    with progress(appeals, "generating appeals") as update:
        result = generate.generate(appeals, seed=seed, access_code=access_code, years=years, processes=processes,
                                   progress=update)
    states = ", ".join(f"{state} {count:,}" for state, count in sorted(result.states.items()))
    countries = ", ".join(f"{country} {count / result.appeals:.0%}" for country, count in sorted(result.countries.items()))
    click.echo(f"States: {states}")
    click.echo(f"Handling countries: {countries}")
    click.echo(f"{result.overdue:,} open appeals have deadlines due now (the sweep fires them).")
    click.echo(f"Access code of every generated appeal: {result.access_code}")
    click.echo(f"generated {result.appeals:,} appeals, {result.events:,} events, {result.deadlines:,} deadlines, "
               f"{result.notices:,} notices in {result.seconds:.1f} s ({result.appeals / max(result.seconds, 1e-9):,.0f} appeals/s)")


@demo_cli.command("start")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
def demo_start(host, port):
    """Seed the demo if the database is empty, print sign-in details, and serve the app."""
    from werkzeug.serving import run_simple

    from casework import demo

    _print_demo(demo.ensure())
    click.echo(f"\nCasework is running at http://{host}:{port}/  (API: http://{host}:{port}/api/v1/openapi.json)")
    click.echo(f"Sign in at http://{host}:{port}/sign-in as any staff account above with the password "
               f"{demo.PASSWORD!r}; claimants follow their appeal at http://{host}:{port}/track with a reference "
               "and access code above.")
    click.echo("Example: curl -H 'Authorization: Bearer <officer.de token>' "
               f"http://{host}:{port}/api/v1/appeals?overdue=true\n")
    run_simple(host, port, current_app._get_current_object(), threaded=True, use_reloader=False)


@click.command("scheduler")
def scheduler_command():
    """Run the deadline sweep every minute and the daily jobs, until stopped."""
    from casework.scheduler import run

    run(current_app._get_current_object())


db_cli = AppGroup("db", help="The database schema: Alembic migrations (every command upgrades it first).")


@db_cli.command("upgrade")
@click.argument("revision", default="head")
def db_upgrade(revision):
    """Bring the schema to REVISION (default: the newest); last line names the revision."""
    from casework.db import upgrade

    before, after = upgrade(db.engine, revision)
    click.echo(f"schema at revision {after}" + ("" if before == after else f" (was {before or 'empty'})"))


@db_cli.command("downgrade")
@click.argument("revision")
def db_downgrade(revision):
    """Take the schema back to REVISION ("base": no tables). The next command upgrades it again."""
    from casework.db import downgrade

    before, after = downgrade(db.engine, revision)
    click.echo(f"schema at revision {after or 'base'} (was {before})")


@db_cli.command("current")
def db_current():
    """Print the schema's revision and whether it is the newest."""
    from casework.db import current_revision, head_revision

    with db.engine.connect() as connection:
        current = current_revision(connection)
    click.echo(f"{current} ({'newest' if current == head_revision() else 'newest is ' + head_revision()})")


@db_cli.command("check")
def db_check():
    """Compare the database's schema with the models; exit 1 listing any difference."""
    from casework.db import schema_differences

    with db.engine.connect() as connection:
        differences = schema_differences(connection)
    for difference in differences:
        click.echo(f"  {difference}")
    if differences:
        click.echo(f"{len(differences)} differences between the database and the models", err=True)
        sys.exit(1)
    click.echo("the schema matches the models")


@db_cli.command("revision")
@click.option("-m", "--message", required=True, help="What the migration changes.")
def db_revision(message):
    """Write a new migration from the differences between the models and the schema (developers)."""
    from alembic import command

    from casework.db import alembic_config

    with db.engine.begin() as connection:
        config = alembic_config()
        config.attributes["connection"] = connection
        script = command.revision(config, message=message, autogenerate=True)
    click.echo(f"wrote {script.path}")


def init_app(app: Flask) -> None:
    from casework.bundle import bundle_cli
    from casework.retention import retention_cli
    from casework.signing import keys_cli
    from casework.translate import translate_cli

    for group in (users_cli, tokens_cli, audit_cli, deadlines_cli, notices_cli, demo_cli, translate_cli, keys_cli,
                  bundle_cli, db_cli, access_cli, retention_cli):
        app.cli.add_command(group)
    app.cli.add_command(scheduler_command)
