"""Legal time limits: period arithmetic (calendar) and deadline rows on appeals."""
