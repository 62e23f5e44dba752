"""Every parity tolerance, in one place, with the reason for its size.

float32 has a unit roundoff of 6e-8. A Dense layer of fan-in n sums n products whose
rounding (and summation order, which differs between oneDNN/MKL GEMM kernels) leaves a
relative error of a few 1e-7 on well-conditioned outputs; 1e-5 relative leaves an order
of magnitude of headroom and still catches any real mismatch (a wrong epsilon, slope or
layout changes results at 1e-3 or more). The absolute floor covers outputs that pass
near zero, where relative error is meaningless.
"""

FORWARD_RTOL = 1e-5
FORWARD_ATOL = 1e-6

# Gradients go through one more GEMM per layer (transposed), same reasoning. The absolute
# floor is relative to the largest entry of the same tensor: an entry that is a sum of
# large cancelling terms (BatchNorm's gamma over N*H*W positions) is only as exact as
# those terms; measured 8e-6 on an entry of 0.06 beside entries of 26 (3e-7 of the scale).
GRAD_RTOL = 1e-5
GRAD_ATOL = 1e-6

# Trajectory: per-step losses over 20 steps from the same weights, batches and noise.
# Adam divides by sqrt(v) + eps, which turns a 1e-7 gradient difference on a parameter
# whose gradient is near zero into an update difference of up to lr; the GAN's
# adversarial feedback then amplifies it step by step. 20 steps stay well below 1e-4
# (see the divergence table in the README).
TRAJECTORY_LOSS_RTOL = 1e-4
TRAJECTORY_LOSS_ATOL = 1e-5
TRAJECTORY_WEIGHT_ATOL = 1e-4

# The trajectory test also runs torch from initial weights each moved by one ulp up or down
# (the control: rounding-sized differences everywhere, as between two frameworks' kernels).
# A GAN step occasionally meets a near-tie (a ReLU unit at its kink, an Adam update of a
# near-zero gradient) where rounding alone decides the branch; from there the run is chaotic
# (differences grow ~2.5x per step) and the control separates from torch as TensorFlow does
# (measured on cgan: 2.4e-4 at step 17 for both with a one-ulp control). While the control
# still agrees within the tolerances above, TensorFlow must too: a real mismatch (a wrong
# epsilon, slope or layout) shows from the first steps, where the control differs by 0.
# Once the control has separated, only the order of magnitude is checked: TensorFlow may
# differ by at most this many times the control's largest separation so far (per loss) or
# largest element difference (per weight tensor). TensorFlow's rounding enters at every
# step, the control's only at the start, and with one thread per framework instead of two
# the ratio was measured up to 11x on cgan, so 10 is too tight and 100 still catches a
# difference of a different order.
CONTROL_FACTOR = 100.0

# Sampling from the same checkpoint: one forward pass of G (float32).
SAMPLE_ATOL = 1e-5
TRAJECTORY_SAMPLE_ATOL = 1e-4

# How many steps two backends are expected to follow the same trajectory, per model family.
# Measured with `aigc parity divergence` (README, "Divergence"). gan_ring8 (lr 2e-3, batch
# 512, packed D) separates from step ~10 on, and a torch run whose initial weights differ by
# one ulp separates as fast. Before that, the step-1 differences come from Adam dividing
# near-zero gradients by sqrt(v) + eps: where |g| is of eps's size, a rounding-sized gradient
# difference moves a weight by up to lr. Which elements sit there is chance (summation order,
# thread count); `compare.adam_eps_regime` excuses exactly those, by the gradients their first
# steps imply. The small models of tests/parity/test_trajectory.py (lr 1e-3) stay within 1e-4
# for 20 steps. vae_digits agrees to 1e-4 for 300 steps. The GAN horizon is 2, not 5: with
# one thread per framework the differences reached 2.2e-4 by step 5.
# Beyond the horizon, runs are compared at the behaviour level (tests/parity/test_behaviour.py).
STRICT_HORIZON = {"gan": 2, "vae": 100}


def strict_horizon(model_name: str) -> int:
    from ..models import REGISTRY

    return STRICT_HORIZON[REGISTRY[model_name].family.family]


# Behaviour parity: the backends' mean quality over seeds may differ by at most this many
# combined standard errors. The standard errors come from 3 (CI) to 10 seeds, so the
# statistic follows Student's t with roughly 4 to 18 degrees of freedom, whose two-sided
# 99% quantiles are 4.6 to 2.9; 4 keeps false alarms rare, and tests/parity/test_behaviour.py
# checks that it still flags a real difference (a VAE trained with a 10x smaller learning
# rate: z = 12). It is not sensitive enough to flag beta 1 vs beta 4 VAEs with 3 seeds
# (0.6 nats apart, z = 3.3): behaviour parity bounds differences to the seed spread, no finer.
BEHAVIOUR_Z = 4.0

# Metrics from the same samples or checkpoint (tests/parity/test_metric_parity.py). The
# classifier's features and the VAE's likelihood terms agree to the forward tolerance above
# (float32); FID, the classifier score, the negative ELBO and the IWAE NLL are smooth functions
# of them computed in float64, so they agree to about the same relative error. 1e-4 leaves
# headroom for FID's cancellation (|mu1 - mu2|^2 + traces - 2 tr sqrt(...) of terms 10-100x
# the result) and for the log-sum-exp over k samples.
METRIC_RTOL = 1e-4
# Precision and recall count points inside k-NN balls: a point whose distance lies within
# float32 rounding of a radius may fall on either side. Allowed: this many points per set.
METRIC_COUNT_FLIPS = 2
