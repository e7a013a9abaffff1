"""Tournaments: specs, schedules, the resumable runner, backends, ratings and exports.

- spec.py       a tournament's YAML file -> a validated TournamentSpec
- schedule.py   the planned games (round robin, gauntlet, swiss rounds, leaderboards)
- records.py    the store's tournament tables: plans, statuses, participants
- worker.py     what a worker process runs: one planned game -> its outcome
- backends.py   where games run: a local process pool or a Ray cluster
- runner.py     plays a tournament to the end, resuming where it stopped
- lock.py       one runner per tournament (an OS file lock)
- ratings.py    Bradley-Terry Elo with intervals, LOS, OpenSkill, SPRT
- standings.py  the table `arena tournament show` prints
- export.py     standings as CSV/JSON, games as SGF/JSON, a ratings chart
"""
