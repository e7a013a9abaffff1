"""AlphaGo (2016) for Go: SL policy from GnuGo games, RL policy, value net, MCTS with rollouts."""
