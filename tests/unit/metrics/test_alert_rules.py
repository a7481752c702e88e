"""Alert rules (pure): each fires exactly at its threshold, with a call to action, severity-ordered."""

from core.metrics.alerts import AlertFacts, describe_age, evaluate, jobs_status_text, rule_definitions

QUIET = AlertFacts(failed_jobs=0)


def codes(facts: AlertFacts) -> list[str]:
    return [a.code for a in evaluate(facts)]


def test_nothing_to_say_on_a_quiet_day():
    assert evaluate(QUIET) == []


def test_payment_failures_are_critical_from_5_failures_and_15_percent():
    assert codes(AlertFacts(failed_jobs=0, payments_failed_today=5, payments_succeeded_today=28)) == \
        ["payment_failures"]  # 5 of 33 = 15.2 %
    assert codes(AlertFacts(failed_jobs=0, payments_failed_today=5, payments_succeeded_today=29)) == []  # 14.7 %
    assert codes(AlertFacts(failed_jobs=0, payments_failed_today=4, payments_succeeded_today=0)) == []
    alert = evaluate(AlertFacts(failed_jobs=0, payments_failed_today=6, payments_succeeded_today=4,
                                top_failure_code="card_declined"))[0]
    assert alert.severity == "critical" and "60%" in alert.detail and "card_declined" in alert.detail
    assert alert.action and alert.action_href == "/admin/payments"


def test_doctors_without_availability_are_named():
    names = [f"Dr {i}" for i in range(7)]
    alert = evaluate(AlertFacts(failed_jobs=0, doctors_without_availability=names))[0]
    assert alert.severity == "warning" and alert.title.startswith("7 doctors")
    assert "Dr 0" in alert.detail and "and 2 more" in alert.detail


def test_no_shows_above_their_30_day_average():
    base = {"failed_jobs": 0, "no_show_month": (5, 100)}
    assert codes(AlertFacts(no_show_week=(7, 100), **base)) == ["no_show_rising"]  # 7 % vs 5 %: +2 pts
    assert codes(AlertFacts(no_show_week=(6, 100), **base)) == []
    assert codes(AlertFacts(no_show_week=(3, 9), **base)) == []  # too few consultations to say
    assert codes(AlertFacts(no_show_week=(3, 20), failed_jobs=0)) == []  # no average to compare with


def test_device_test_failures_rising():
    assert codes(AlertFacts(failed_jobs=0, device_tests_week=(4, 20), device_tests_month=(10, 100))) == \
        ["device_tests_failing"]
    assert codes(AlertFacts(failed_jobs=0, device_tests_week=(3, 20), device_tests_month=(10, 100))) == []


def test_stuck_holds_and_failed_jobs():
    assert codes(AlertFacts(failed_jobs=0, stuck_pending=2)) == ["pending_stuck"]
    assert codes(AlertFacts(failed_jobs=3)) == ["jobs_failing"]
    unknown = evaluate(AlertFacts(failed_jobs=None))
    assert [(a.code, a.severity) for a in unknown] == [("jobs_unknown", "info")]


def test_owed_effects_given_up_are_critical():
    assert codes(AlertFacts(failed_jobs=0, owed_given_up=0)) == []
    (alert,) = evaluate(AlertFacts(failed_jobs=0, owed_given_up=2))
    assert (alert.code, alert.severity, alert.title) == ("owed_given_up", "critical", "2 owed refunds or notices given up")
    assert "doktu owed retry" in alert.action


def test_feed_is_ordered_critical_warning_info():
    facts = AlertFacts(failed_jobs=1, doctors_offline=2, payments_failed_today=9, payments_succeeded_today=1,
                       stuck_pending=1)
    assert [a.severity for a in evaluate(facts)] == ["critical", "warning", "warning", "info"]
    assert all(a.action for a in evaluate(facts))


def test_every_rule_is_defined_in_words():
    assert all(len(text) > 40 for _, text in rule_definitions())


def test_background_jobs_stalled_is_critical_after_3_minutes_or_when_they_never_ran():
    assert codes(AlertFacts(failed_jobs=0, jobs_last_ran_seconds_ago=180)) == []
    stalled = evaluate(AlertFacts(failed_jobs=0, jobs_last_ran_seconds_ago=181))
    assert [(a.code, a.severity) for a in stalled] == [("jobs_stalled", "critical")]
    assert "3 min ago" in stalled[0].detail and "doktu worker" in stalled[0].action
    assert "runbook" in stalled[0].action and "docs/operations.md" in stalled[0].action
    never = evaluate(AlertFacts(failed_jobs=0, jobs_last_ran_seconds_ago=None))[0]
    assert never.code == "jobs_stalled" and "never run" in never.detail
    both = evaluate(AlertFacts(failed_jobs=0, jobs_last_ran_seconds_ago=None, payments_failed_today=9,
                               payments_succeeded_today=1))
    assert [a.code for a in both] == ["jobs_stalled", "payment_failures"]


def test_how_long_ago_in_words():
    assert jobs_status_text(40) == "Background jobs last ran 40 s ago."
    assert jobs_status_text(None) == "Background jobs have never run."
    assert [describe_age(s) for s in (0, 119, 120, 3599, 3600, 7500, 2 * 86400)] == \
        ["0 s", "119 s", "2 min", "59 min", "1 h", "2 h 5 min", "2 days"]
