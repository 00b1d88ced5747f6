"""The forecasting app's reads, read-only over the projects, the state ledger and the counts
its writer keeps (apps/pipeline/counts.py), one module per question:

- `win_rates`: of the projects that reached a stage and closed, how many were won?
- `forecast`: what will the open pipeline bring in each month or quarter, under each source
  of probability, against the targets?
- `analytics`: what happened in a period: the funnel, the win rate, the days in each stage,
  where projects were stopped?
- `calibration`: how good were the percentages the closed projects carried?
- `accuracy`: what did the forecast say on the first of each month, against what was won?

Months and quarters are in `apps.forecasting.periods`. Each definition is stated in the
docstring of the function that computes it (DOMAIN.md, "Definitions the reports use").
"""
