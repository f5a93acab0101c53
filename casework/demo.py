"""Demo data: a few dozen synthetic appeals across eight countries, in every state, with staff
accounts to sign in with. Every appeal is made through the real operations, so histories,
hash chains and deadlines are those of real appeals. All names and numbers are invented."""

from __future__ import annotations

import os
import random
from datetime import date, timedelta
from decimal import Decimal

from flask import current_app
from sqlmodel import func, select

from casework import operations
from casework.access import CLAIMANT, Actor, issue_api_token, new_staff
from casework.clock import now
from casework.db import db, writing
from casework.entitlement import calculation
from casework.entitlement import operations as entitlement
from casework.entitlement import rules as rules_data
from casework.models import ApiToken, Appeal, User

PASSWORD = "casework-demo"
INSTITUTIONS = {
    "DE": ("Deutsche Rentenversicherung", "de"),
    "FR": ("Caisse nationale d'assurance vieillesse", "fr"),
    "ES": ("Instituto Nacional de la Seguridad Social", "es"),
    "PL": ("Zakład Ubezpieczeń Społecznych", "pl"),
    "IT": ("Istituto Nazionale della Previdenza Sociale", "it"),
    "PT": ("Instituto da Segurança Social", "pt"),
    "NL": ("Sociale Verzekeringsbank", "en"),
    "BE": ("Service fédéral des Pensions", "fr"),
}
FIRST = ["Ana", "Jan", "Marta", "Luca", "Sofia", "Karim", "Ewa", "João", "Inès", "Piotr", "Giulia", "Youssef",
         "Lena", "Tomás", "Amira", "Henrik"]
LAST = ["Kowalczyk", "Moreau", "García Ruiz", "Rossi", "Almeida", "Haddad", "Nowicka", "Schneider", "De Vries",
        "Dubois", "Ferreira", "Zieliński", "Benali", "Lemaire", "Castro", "Wójcik"]
GROUNDS = {
    "old_age_pension": "Insurance periods completed in {other} were not aggregated when the pension was calculated.",
    "survivor_pension": "The survivor's pension ignores the deceased spouse's contributions in {other}.",
    "invalidity": "The medical assessment from {other} was not taken into account.",
    "sickness": "Sickness benefit was refused because the certificate was issued in {other}.",
    "healthcare": "Planned treatment in {other} was refused without examining the waiting time.",
    "unemployment": "Periods of employment in {other} were not counted towards the qualifying period.",
    "family": "Family benefits were refused although the children live in {other}.",
    "work_accident": "The accident on a posting to {other} was not recognised as an accident at work.",
}
# How a demo appeal reaches each state: (who acts, action, input).
PATHS = {
    "lodged": [],
    "under_review": [("officer", "admit", {})],
    "awaiting_information": [("officer", "admit", {}),
                             ("officer", "request_information", {"from": "claimant", "items": ["Employment certificates"]})],
    "awaiting_claimant": [("officer", "admit", {}),
                          ("officer", "decide_review", {"outcome": "refused", "reasons": "The periods are not proven."})],
    "in_mediation": [("officer", "admit", {}),
                     ("officer", "decide_review", {"outcome": "partially_granted", "reasons": "Part of the periods counted."}),
                     ("claimant", "request_mediation", {})],
    "escalated": [("officer", "admit", {}),
                  ("officer", "decide_review", {"outcome": "refused", "reasons": "No entitlement."}),
                  ("claimant", "request_tribunal", {})],
    "before_tribunal": [("officer", "admit", {}),
                        ("officer", "decide_review", {"outcome": "refused", "reasons": "No entitlement."}),
                        ("claimant", "request_tribunal", {}),
                        ("tribunal", "acknowledge_referral", {})],
    "closed": [("officer", "admit", {}),
               ("officer", "decide_review", {"outcome": "granted", "reasons": "The periods are now proven."})],
}


def staff_user(email: str, role: str, country: str | None = None, tribunal: str | None = None) -> User:
    user = db.session.exec(select(User).where(User.email == email)).first()
    return user or new_staff(db.session, email, role, PASSWORD, country, tribunal)


def staff() -> list[User]:
    users = [staff_user(f"officer.{c.lower()}@casework.example", "officer", c) for c in INSTITUTIONS]
    users += [staff_user("mediator.de@casework.example", "mediator", "DE"), staff_user("mediator.fr@casework.example", "mediator", "FR"),
              staff_user("clerk@cbsst.example", "tribunal", tribunal="CBSST"),
              staff_user("oversight@casework.example", "oversight"), staff_user("admin@casework.example", "admin")]
    return users


def seed(count: int = 40, rng_seed: int = 7) -> list[tuple[str, str, str]]:
    """Lodge ``count`` appeals spread over every state; returns (reference, access code, state)."""
    rng = random.Random(rng_seed)
    states = list(PATHS)
    users = {(u.role, u.country or u.tribunal_code): u for u in staff()}
    db.session.commit()
    made = []
    countries = list(INSTITUTIONS)
    for index in range(count):
        state = states[index % len(states)]
        # Each round of states moves the countries on by five, so every country has appeals at
        # several stages (its officers and mediators all find work in the demo).
        decision_country = countries[(index + 5 * (index // len(states))) % len(countries)]
        other = rng.choice([c for c in countries if c != decision_country])
        residence = rng.choice([other, decision_country, other])
        benefit = rng.choice(list(GROUNDS))
        if index % len(states) == 1:
            benefit = "old_age_pension"  # an appeal under review in each round shows the calculator
        steps = PATHS[state]
        lodged_at = now() - timedelta(days=6 * len(steps) + rng.randint(2, 40), hours=rng.randint(0, 9))
        # Most appeals are lodged in time; every seventh comes months late and is admitted with a reason.
        late = index % 7 == 3
        decision_date = (lodged_at - timedelta(days=rng.randint(150, 200) if late else rng.randint(5, 25))).date()
        forwarded = index % 9 == 4
        receiving = other if forwarded else decision_country
        data = {
            "claimant": {
                "name": f"{rng.choice(FIRST)} {rng.choice(LAST)}",
                "birth_date": decision_date.replace(year=decision_date.year - rng.randint(30, 70)),
                "residence_country": residence,
                "preferred_language": INSTITUTIONS[residence][1] if rng.random() < 0.8 else "ar",
                "email": f"claimant{index + 1}@mail.example",
                "personal_ids": [{"country": decision_country, "scheme": "national-insurance",
                                  "value": f"{decision_country}{rng.randrange(10**9, 10**10)}"}],
            },
            "contested_decision": {"institution_country": decision_country,
                                   "institution_name": INSTITUTIONS[decision_country][0],
                                   "reference": f"{decision_country}-{2026}-{rng.randrange(1000, 9999)}",
                                   "benefit": benefit, "decision_date": decision_date, "notified_on": None},
            "involved_countries": [other],
            "grounds": GROUNDS[benefit].format(other=other),
            "lodged_with_country": receiving,
            "lodged_at": lodged_at,
        }
        with writing():
            officer = Actor.staff(users[("officer", receiving)])
            appeal, code = operations.lodge_appeal(db.session, data, officer, current_app.config)
            at = lodged_at
            if forwarded and steps:
                at += timedelta(days=2)
                operations.perform_action(db.session, appeal, officer, "forward",
                                          {"to_country": decision_country,
                                           "to_institution_name": INSTITUTIONS[decision_country][0]}, occurred_at=at)
            for who, action, extra in steps:
                if action == "decide_review" and appeal.benefit == rules_data.BENEFIT:
                    working_life(appeal, users, other, random.Random(index))
                at += timedelta(days=rng.randint(3, 6), hours=rng.randint(0, 5))
                actor = {"officer": Actor.staff(users[("officer", appeal.handling_country)]), "claimant": CLAIMANT,
                         "tribunal": Actor.staff(users[("tribunal", "CBSST")])}[who]
                extra = dict(extra)
                if action == "admit" and not appeal.filed_in_time:
                    extra["late_filing_reason"] = "The decision was sent to a former address abroad."
                operations.perform_action(db.session, appeal, actor, action, extra, occurred_at=min(at, now()))
            db.session.commit()
        if state == "under_review" and appeal.benefit == rules_data.BENEFIT:
            with writing():
                working_life(appeal, users, other, random.Random(index))
                db.session.commit()
        made.append((appeal.reference, code, appeal.state))
    return made


def working_life(appeal: Appeal, users: dict, other: str, rng: random.Random) -> None:
    """Periods in three countries from the institutions' certified records, one more the claimant
    proposed, and the officer's calculation on them, as during a review."""
    officer = Actor.staff(users[("officer", appeal.handling_country)])
    third = rng.choice([c for c in INSTITUTIONS if c not in (appeal.handling_country, other)])
    start = date(appeal.claimant.birth_date.year + 20, rng.choice((1, 4, 9)), 1)
    first, second, short = rng.randint(6, 15), rng.randint(8, 20), rng.randint(4, 11)
    middle = start.replace(year=start.year + first)
    last = middle.replace(year=middle.year + second)
    today = now().date()
    periods = [
        (appeal.handling_country, start, middle - timedelta(days=1), "employment"),
        (other, middle, last - timedelta(days=1), "employment"),
        # A child's care credited in the first country, overlapping the job in the second.
        (appeal.handling_country, middle.replace(year=middle.year + 2),
         middle.replace(year=middle.year + 3) - timedelta(days=1), "credited_care"),
        (third, last, min(last + timedelta(days=30 * short), today), "employment"),
    ]
    for country, first_day, last_day, kind in periods:
        if first_day <= last_day <= today:
            entitlement.enter_period(db.session, appeal, officer, {
                "country": country, "starts_on": first_day, "ends_on": last_day, "kind": kind,
                "evidence": f"SED P5000 of {INSTITUTIONS[country][0]}"})
    proposal = last + timedelta(days=30 * short + 40)
    if proposal + timedelta(days=180) <= today:
        entitlement.enter_period(db.session, appeal, CLAIMANT, {
            "country": other, "starts_on": proposal, "ends_on": proposal + timedelta(days=180),
            "kind": "self_employment",
            "evidence": "Invoices of my own business"})
    amounts = {}
    aggregation = entitlement.compute_aggregation(db.session, appeal)
    basis = calculation.bases(aggregation, rules_data.current())
    for country, needed in calculation.amounts_needed(basis).items():
        theoretical = Decimal(rng.randrange(90_000, 240_000)) / 100
        # A country's own pension is about its share of a whole career's, a little more or less.
        share = Decimal(aggregation.recorded[country].total_days) / aggregation.total.total_days
        independent = (theoretical * share * Decimal(rng.choice(("0.9", "1.05", "1.15")))).quantize(Decimal("0.01"))
        amounts[country] = {"theoretical": theoretical, "independent": independent if "independent" in needed else None}
    entitlement.run_calculation(db.session, appeal, officer, {"amounts": amounts})


def issue_tokens() -> list[tuple[User, str]]:
    """Fresh API tokens for the demo staff (earlier demo tokens are revoked)."""
    issued = []
    with writing():
        for user in staff():
            for old in db.session.exec(select(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))):
                old.revoked_at = now()
            issued.append((user, issue_api_token(db.session, user)))
        db.session.commit()
    return issued


def access_codes_path() -> str:
    return os.path.join(current_app.instance_path, "demo-access-codes.txt")


def ensure() -> list[str]:
    """Seed the demo once; the claimants' access codes are kept in the instance folder so the demo
    can be tried again after a restart (real codes are shown once and never stored)."""
    if db.session.exec(select(func.count()).select_from(Appeal)).one() == 0:
        made = seed()
        with open(access_codes_path(), "w") as handle:
            handle.writelines(f"{ref}  {code}  {state}\n" for ref, code, state in made)
    if not os.path.exists(access_codes_path()):
        return []
    with open(access_codes_path()) as handle:
        return handle.read().splitlines()
