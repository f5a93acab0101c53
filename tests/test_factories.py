def test_every_state_reachable(factory):
    for state in ("lodged", "under_review", "awaiting_information", "awaiting_claimant", "in_mediation",
                  "escalated", "before_tribunal", "closed"):
        assert factory.appeal(state)["state"] == state
