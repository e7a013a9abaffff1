"""AlphaZero: a residual policy+value network guiding PUCT tree search.

One module per concept (as minigo): `network` (the residual net, on the
input planes and symmetries of games/features.py), `puct` (PUCT search on a
GameState), `evaluators` (batched torch and free evaluators), `selfplay`
(many games in lockstep, one network call per step), `agent` (the player).
"""
