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

# Gradients go through one more GEMM per layer (transposed), same reasoning.
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

# Sampling from the same checkpoint: one forward pass of G (float32).
SAMPLE_ATOL = 1e-5
