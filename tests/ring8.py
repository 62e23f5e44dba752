"""What the short gan_ring8 runs of the CLI, eval and checkpoint tests share."""

# gan_ring8's finish (precise BatchNorm: 88 passes of 10,000 samples, ~6 s on one thread) is
# tested in tests/parity/test_precise_bn.py; the short runs here leave it out.
NO_PRECISE_BN = "model.precise_bn=0"  # a command-line override
_key, _value = NO_PRECISE_BN.split("=")
NO_PRECISE_BN_KWARGS = {_key.replace(".", "__"): int(_value)}  # the same, as `aigc.api` keywords
