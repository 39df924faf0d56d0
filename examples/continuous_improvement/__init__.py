"""The continuous-improvement loop on scikit-learn's digits: the pieces of `make demo`.

- `data`: the splits (golden, a training set short of 7s, 8s and 9s, production traffic, a
  held-out production slice).
- `model`: training functions (scikit-learn, or a small PyTorch MLP).
- `traffic`: simulated production: predictions logged, partial user feedback.
- `pipeline`: the loop's spec (scenarios, miners, oracle) and the `loop` func.
- `demo`: serve and improve for a few rounds, one table row per round.
"""
