"""AlphaZero: a residual policy+value network guiding PUCT tree search.

One module per concept (as minigo): `features` (network input planes and
symmetries per game), `network` (the residual net), `puct` (PUCT search on a
GameState), `evaluators` (batched torch and free evaluators), `selfplay`
(many games in lockstep, one network call per step), `agent` (the player).
"""
