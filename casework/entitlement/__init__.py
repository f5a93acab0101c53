"""The entitlement calculator: a claimant's insurance history across countries, its aggregation
(Regulation 883/2004 Art 6, Regulation 987/2009 Art 12), each country's minimum qualifying
period, and the independent and pro-rata pensions of Art 52 and 57, explained in the
claimant's language.

- ``periods``: the periods, their overlaps (counted once, for one country) and their lengths;
- ``rules``: each country's minimum qualifying period, as data with its source;
- ``calculation``: who qualifies, and the amounts due; pure, exact, in ``Decimal``;
- ``explain`` and ``timeline``: the words and the chart the claimant, officer and tribunal read;
- ``operations``: entering, confirming and withdrawing periods, and running a calculation.
"""
