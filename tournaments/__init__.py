"""Tournaments: specs, schedules, the resumable runner, backends, ratings and exports.

- spec.py       a tournament's YAML file -> a validated TournamentSpec (and the league's helpers)
- schedule.py   the planned games (round robin, gauntlet, swiss rounds, leaderboards)
- records.py    the store's tournament tables: plans, statuses, participants (and shared SQL)
- worker.py     what a worker process runs: one planned game -> its outcome
- backends.py   where games run: a local process pool or a Ray cluster
- runner.py     plays a tournament to the end, resuming where it stopped
- lock.py       one runner per tournament (an OS file lock)
- ratings.py    Bradley-Terry Elo with intervals, LOS, OpenSkill, SPRT
- standings.py  the table `arena tournament show` prints
- export.py     standings as CSV/JSON, games as SGF/JSON, a ratings chart
- commands.py   `arena tournament run | show | export | list` (its helpers serve the league's)
- store.py      the SQLite store of matches (and the tournament and league tables' schema)
- recording.py  the store and SGF observers of the match loop
- league/       the self-play league (its spec, records, runner, export and commands)
"""
