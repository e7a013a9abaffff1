"""The self-play league: main learners trained round by round, frozen snapshots, PFSP, ratings.

- spec.py      a league's YAML file -> a validated LeagueSpec
- records.py   the store's league tables: leagues, players, planned games, ratings history
- runner.py    trains, freezes, plans, plays and rates each round, resuming where it stopped
- export.py    standings as data (`arena league show`), CSV/JSON files, a ratings chart
- commands.py  `arena league run | show | export | list`

It builds on the tournament modules (tournaments/spec.py, records.py, commands.py),
whose shared helpers it imports rather than repeats.
"""
