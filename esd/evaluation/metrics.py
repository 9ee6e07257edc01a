"""The field's text-to-motion metrics, as pure NumPy functions on embeddings.

Definitions follow the evaluation code of Guo et al. 2022, "Generating Diverse and Natural 3D
Human Motions from Text" (``utils/metrics.py`` of EricGuo5513/text-to-motion), which MDM, MLD and
MoMask all reuse. Embeddings come from a text/motion evaluator (``esd.evaluation.contrastive``):

* ``text_emb`` ``(N, D)`` and ``motion_emb`` ``(N, D)``: row ``i`` of each is the pair (caption,
  motion) ``i``.
* ``motion_emb`` ``(P, R, D)`` for multimodality: ``R`` generations for each of ``P`` prompts.

Every random choice takes an ``np.random.Generator`` (or a legacy ``np.random.RandomState``, whose
draws reproduce the reference code's ``np.random.seed(s); np.random.choice(...)``); ``None`` means
``np.random.default_rng(0)``, so a call without a generator is still reproducible (no global RNG
is touched).

Both evaluators use this one module: the bundled contrastive evaluator (``esd.evaluation.measure``)
and the T2M evaluator of Guo et al. (``esd.evaluation.t2m``), whose protocol adds R-precision over
the loader's consecutive batches (``r_precision_batches``), the strict FID of the reference code
(``strict=True``), the diversity pair count rule (``diversity_pairs_for``) and the replication
summary (``replication_summary``).

The bundled evaluator pairs two different motions (``distinct=True``) and bootstraps
(``esd.evaluation.uncertainty``) ``retrieval_hits``, ``matching_distances`` and
``frechet_distance_closed_form``.

The ESD-specific measure is ``concept_rate``: the share of motions a zero-shot recogniser assigns
to a concept (efficacy when measured on prompts of the erased concept, specificity on the others).
"""

from __future__ import annotations

import warnings

import numpy as np
from scipy import linalg
from scipy.spatial.distance import cdist

R_PRECISION_POOL = 32  # candidates per R-precision pool: 1 true motion + 31 others (Guo et al.)
R_PRECISION_TOP_K = 3  # R-precision is reported at top-1, top-2 and top-3
DIVERSITY_PAIRS = 300  # random pairs for diversity (Guo et al. on HumanML3D)
MULTIMODALITY_PAIRS = 10  # random pairs per prompt for multimodality (Guo et al.)
FID_EPS = 1e-6  # diagonal offset added to both covariances when sqrt(S_a S_b) is not finite
IMAGINARY_TOL = 1e-3  # largest tolerated imaginary part on the diagonal of sqrt(S_a S_b)
DIVERSITY_PAIRS_SMALL = 100  # diversity pairs when N <= DIVERSITY_PAIRS (the reference's rule)
CI_Z = 1.96  # normal quantile of a two-sided 95% interval over replications

RandomSource = np.random.Generator | np.random.RandomState  # both offer .choice / .permutation


class FIDError(ValueError):
    """The matrix square root of S_a S_b is materially complex: the FID is undefined."""


def _embeddings(x: np.ndarray, name: str, ndim: int = 2) -> np.ndarray:
    """Return ``x`` as a finite float64 array of ``ndim`` dims with no empty axis, or raise."""
    arr = np.asarray(x, dtype=np.float64)
    if arr.ndim != ndim or 0 in arr.shape:
        shape = "(N, D)" if ndim == 2 else "(P, R, D)"
        raise ValueError(f"{name} must be a non-empty {shape} array, got shape {arr.shape}")
    if not np.isfinite(arr).all():
        raise ValueError(f"{name} contains NaN or inf; check the model outputs that produced it")
    return arr


def _paired(text_emb: np.ndarray, motion_emb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Check that text and motion embeddings are row-aligned pairs of the same width."""
    t = _embeddings(text_emb, "text_emb")
    m = _embeddings(motion_emb, "motion_emb")
    if t.shape != m.shape:
        raise ValueError(
            f"text_emb {t.shape} and motion_emb {m.shape} must have the same shape (N, D): "
            "row i of each is the pair (caption i, motion i)"
        )
    return t, m


def _rng(generator: RandomSource | None) -> RandomSource:
    return np.random.default_rng(0) if generator is None else generator


def _pair_count(available: int, num_pairs: int, clamp: bool, what: str) -> int:
    """Number of pairs to draw from ``available`` items (see ``diversity`` for the rule)."""
    if num_pairs < 1:
        raise ValueError(f"num_pairs must be >= 1, got {num_pairs}")
    if available >= num_pairs:
        return num_pairs
    if clamp:
        return available
    raise ValueError(
        f"{what}: {available} samples is fewer than num_pairs={num_pairs}; generate more, pass "
        f"num_pairs={available} or clamp=True (uses min(num_pairs, {available}))"
    )


# --- distances ----------------------------------------------------------------------------------


def euclidean_distance_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pairwise Euclidean distances ``d[i, j] = ||a_i - b_j||_2``.

    Shapes: ``a`` (N, D), ``b`` (M, D) -> (N, M) float64. Computed directly (not through the
    ``|a|^2 - 2ab + |b|^2`` expansion of the reference code), so identical rows give exactly 0.
    """
    a = _embeddings(a, "a")
    b = _embeddings(b, "b")
    if a.shape[1] != b.shape[1]:
        raise ValueError(f"a {a.shape} and b {b.shape} must have the same width D")
    return cdist(a, b, metric="euclidean")


def matching_distances(text_emb: np.ndarray, motion_emb: np.ndarray) -> np.ndarray:
    """Distance of each pair: ``d_i = ||t_i - m_i||_2``. Shapes: (N, D), (N, D) -> (N,)."""
    t, m = _paired(text_emb, motion_emb)
    return np.linalg.norm(t - m, axis=1)


def matching_score(text_emb: np.ndarray, motion_emb: np.ndarray) -> float:
    """Mean distance between paired embeddings: ``(1/N) sum_i ||t_i - m_i||_2``.

    Shapes: (N, D), (N, D) -> float. Lower is better. Guo et al. average it over the same
    32-sample batches as R-precision (dropping the remainder); here all N pairs count.
    """
    return float(matching_distances(text_emb, motion_emb).mean())


# --- Frechet distance (FID) ---------------------------------------------------------------------


def embedding_statistics(emb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and covariance of a set of embeddings (cache these for the real data).

    Shapes: (N, D) -> mu (D,), cov (D, D). ``cov`` is the unbiased sample covariance
    (``np.cov(emb, rowvar=False)``, ddof 1), as in the reference code; needs N >= 2.
    """
    x = _embeddings(emb, "emb")
    if x.shape[0] < 2:
        raise ValueError(f"need at least 2 embeddings for a covariance, got {x.shape[0]}")
    return x.mean(axis=0), np.atleast_2d(np.cov(x, rowvar=False))


def _trace_root_product(rows_a: np.ndarray, rows_b: np.ndarray) -> np.ndarray:
    """``Tr ((A^T A)(B^T B))^(1/2)`` of centred rows A (..., N, D), B (..., M, D): the sum of the
    square roots of the eigenvalues of a symmetric PSD matrix of the smaller size, ``X X^T`` with
    X = A B^T (N <= D or M <= D) or ``L^T (B^T B) L`` with A^T A = L L^T (D x D). -> (...)."""
    n, m, dim = rows_a.shape[-2], rows_b.shape[-2], rows_a.shape[-1]
    if min(n, m) <= dim:
        cross = rows_a @ np.swapaxes(rows_b, -1, -2)  # (..., N, M)
        if n > m:
            cross = np.swapaxes(cross, -1, -2)  # (..., M, N): the smaller side first
        gram = cross @ np.swapaxes(cross, -1, -2)  # (..., min(N, M), min(N, M))
    else:
        gram_a = np.swapaxes(rows_a, -1, -2) @ rows_a  # (..., D, D)
        gram_b = np.swapaxes(rows_b, -1, -2) @ rows_b
        try:  # A^T A = L L^T: Cholesky, else (rank-deficient) L = V sqrt(W) from eigh
            low = np.linalg.cholesky(gram_a)  # (..., D, D)
        except np.linalg.LinAlgError:
            w, v = np.linalg.eigh(gram_a)
            low = v * np.sqrt(np.clip(w, 0.0, None))[..., None, :]
        gram = np.swapaxes(low, -1, -2) @ gram_b @ low
    return np.sqrt(np.clip(np.linalg.eigvalsh(gram), 0.0, None)).sum(axis=-1)


def frechet_distance_closed_form(emb_a: np.ndarray, emb_b: np.ndarray) -> np.ndarray:
    """FID without a matrix square root (one pair of sets or a stack). With A, B the centred
    rows, S_a = A^T A / (N - 1), S_b = B^T B / (M - 1), S_a S_b has the real eigenvalues >= 0 of
    (A^T A)(B^T B) / ((N - 1)(M - 1)), so  d^2 = ||mu_a - mu_b||^2 + Tr S_a + Tr S_b
    - 2 Tr ((A^T A)(B^T B))^(1/2) / sqrt((N - 1)(M - 1)).  ``frechet_distance``'s value wherever
    its root is accurate, always real (rank-deficient N <= D too) and cheap for bootstrap
    stacks. Shapes: (..., N, D), (..., M, D) -> (...) float64; N, M >= 2."""
    a, b = np.asarray(emb_a, dtype=np.float64), np.asarray(emb_b, dtype=np.float64)
    if a.ndim < 2 or a.shape[:-2] != b.shape[:-2] or a.shape[-1] != b.shape[-1]:
        raise ValueError(f"emb_a {a.shape} and emb_b {b.shape} must be (..., N, D), (..., M, D)")
    n, m = a.shape[-2], b.shape[-2]
    if min(n, m) < 2:
        raise ValueError(f"need at least 2 embeddings per set for a covariance, got {n} and {m}")
    mu_a, mu_b = a.mean(axis=-2), b.mean(axis=-2)  # (..., D)
    rows_a, rows_b = a - mu_a[..., None, :], b - mu_b[..., None, :]  # centred (..., N, D)
    trace = (rows_a**2).sum(axis=(-2, -1)) / (n - 1) + (rows_b**2).sum(axis=(-2, -1)) / (m - 1)
    root = _trace_root_product(rows_a, rows_b) / np.sqrt((n - 1) * (m - 1))
    return np.maximum(((mu_a - mu_b) ** 2).sum(axis=-1) + trace - 2.0 * root, 0.0)


def _sqrtm_product(cov_a: np.ndarray, cov_b: np.ndarray, strict: bool) -> np.ndarray:
    """Real part of sqrt(S_a S_b), retried with ``FID_EPS * I`` added to both covariances.

    ``strict`` (the reference code): retry only when the root is not finite; a root whose
    diagonal keeps an imaginary part above ``IMAGINARY_TOL`` raises FIDError. Otherwise (the
    bundled evaluator's lenient mode) also retry when it is materially complex, and if it still
    is, discard the imaginary part with a RuntimeWarning. Both give the same value whenever the
    reference code returns one.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", linalg.LinAlgWarning)  # singular S_a S_b: handled below
        root = linalg.sqrtm(cov_a @ cov_b)
        if not np.isfinite(root).all() or (not strict and _too_complex(root)):
            offset = np.eye(cov_a.shape[0]) * FID_EPS
            root = linalg.sqrtm((cov_a + offset) @ (cov_b + offset))
    if _too_complex(root):
        worst = float(np.abs(np.diagonal(root).imag).max())
        message = (
            f"FID: the matrix square root of S_a S_b is materially complex (imaginary diagonal "
            f"part {worst:.3g} > {IMAGINARY_TOL}), so the FID is undefined for these embeddings; "
            "evaluate more samples than embedding dimensions, or check the motions for "
            "duplicates or collapsed outputs"
        )
        if strict:
            raise FIDError(message)
        warnings.warn(message + "; imaginary part discarded", RuntimeWarning, stacklevel=3)
    return np.real(root)


def _too_complex(root: np.ndarray) -> bool:
    return np.iscomplexobj(root) and not np.allclose(np.diagonal(root).imag, 0, atol=IMAGINARY_TOL)


def frechet_distance_from_statistics(
    mu_a: np.ndarray,
    cov_a: np.ndarray,
    mu_b: np.ndarray,
    cov_b: np.ndarray,
    strict: bool = False,
) -> float:
    """Frechet distance between the Gaussians N(mu_a, S_a) and N(mu_b, S_b):

        d^2 = ||mu_a - mu_b||^2 + Tr(S_a + S_b - 2 (S_a S_b)^(1/2))

    Shapes: mu (D,), cov (D, D). The matrix root is ``scipy.linalg.sqrtm``; its imaginary part
    (round-off) is discarded, and if it is not finite ``FID_EPS * I`` is added to both covariances,
    as the reference implementation does. ``strict=True`` (the T2M protocol) raises FIDError when
    the root is materially complex, as the reference does; the default keeps the bundled
    evaluator's lenient rule (see ``_sqrtm_product``). Round-off below 0 is clamped to 0.
    """
    mu_a, mu_b = np.atleast_1d(mu_a).astype(np.float64), np.atleast_1d(mu_b).astype(np.float64)
    cov_a, cov_b = np.atleast_2d(cov_a).astype(np.float64), np.atleast_2d(cov_b).astype(np.float64)
    dim = mu_a.shape[0]
    shapes = (mu_a.shape, mu_b.shape, cov_a.shape, cov_b.shape)
    if shapes != ((dim,), (dim,), (dim, dim), (dim, dim)) or mu_a.ndim != 1:
        raise ValueError(
            f"statistics do not match: mu_a {shapes[0]}, mu_b {shapes[1]}, cov_a {shapes[2]}, "
            f"cov_b {shapes[3]}; expected (D,) means and (D, D) covariances of one D"
        )
    diff = mu_a - mu_b
    root = _sqrtm_product(cov_a, cov_b, strict)
    trace = np.trace(cov_a) + np.trace(cov_b) - 2.0 * np.trace(root)
    return max(0.0, float(diff @ diff + trace))


def frechet_distance(emb_a: np.ndarray, emb_b: np.ndarray, strict: bool = False) -> float:
    """FID between two embedding sets, (N, D) and (M, D) -> float (N, M >= 2).

    Equals ``frechet_distance_from_statistics`` of the two ``embedding_statistics``.
    """
    mu_a, cov_a = embedding_statistics(emb_a)
    mu_b, cov_b = embedding_statistics(emb_b)
    if mu_a.shape != mu_b.shape:
        raise ValueError(f"emb_a width {mu_a.shape[0]} != emb_b width {mu_b.shape[0]}")
    return frechet_distance_from_statistics(mu_a, cov_a, mu_b, cov_b, strict)


# --- retrieval ----------------------------------------------------------------------------------


def _true_match_rank(dist: np.ndarray) -> np.ndarray:
    """Rank (0 = nearest) of the true motion ``i`` for each text ``i`` of a (S, S) pool.

    Equal to the position of ``i`` in a stable argsort of row ``i``: ties are broken by the
    position in the pool, which is random (pools are shuffled), so ties count at chance level.
    """
    true = np.diagonal(dist)[:, None]  # (S, 1)
    closer = (dist < true).sum(axis=1)  # (S,)
    tied_before = np.tril(dist == true, k=-1).sum(axis=1)  # (S,) equal distance, earlier column
    return closer + tied_before


def _check_pool(n: int, pool_size: int, top_k: int) -> None:
    if pool_size < 2:
        raise ValueError(f"pool_size must be >= 2, got {pool_size}")
    if not 1 <= top_k <= pool_size:
        raise ValueError(f"top_k must be in [1, pool_size={pool_size}], got {top_k}")
    if n < pool_size:
        raise ValueError(
            f"R-precision needs at least pool_size={pool_size} pairs, got {n}; evaluate more "
            "samples or pass a smaller pool_size (results then differ from the standard numbers)"
        )


def retrieval_hits(
    text_emb: np.ndarray,
    motion_emb: np.ndarray,
    pool_size: int = R_PRECISION_POOL,
    top_k: int = R_PRECISION_TOP_K,
) -> np.ndarray:
    """Per-text hits of ``r_precision_batches``: ``hits[i, k-1]`` is True when text ``i`` finds
    its motion among its k nearest in its pool. Shapes: (N, D), (N, D) -> (P * pool_size,
    top_k) bool, P = N // pool_size (the incomplete last pool is dropped)."""
    t, m = _paired(text_emb, motion_emb)
    _check_pool(t.shape[0], pool_size, top_k)
    pools = t.shape[0] // pool_size
    ks = np.arange(1, top_k + 1)  # (top_k,)
    hits = []
    for start in range(0, pools * pool_size, pool_size):
        rows = slice(start, start + pool_size)
        rank = _true_match_rank(euclidean_distance_matrix(t[rows], m[rows]))  # (pool_size,)
        hits.append(rank[:, None] < ks[None, :])  # (pool_size, top_k)
    return np.concatenate(hits)


def r_precision_batches(
    text_emb: np.ndarray,
    motion_emb: np.ndarray,
    pool_size: int = R_PRECISION_POOL,
    top_k: int = R_PRECISION_TOP_K,
) -> np.ndarray:
    """R-precision over consecutive pools: rows ``[b * pool_size, (b + 1) * pool_size)``.

    This is the T2M protocol's rule: each loader batch of 32 is one pool, in the loader's
    order (pass the embeddings batch after batch); an incomplete last pool is dropped. In each
    pool, with ``d[i, j] = ||t_i - m_j||``, text ``i`` scores a hit at k if motion ``i`` is among
    its k nearest motions (ties broken by position). Returns the cumulative hit rates
    ``[R@1, ..., R@top_k]`` (top_k,), non-decreasing; chance level is ``k / pool_size``.

    Shapes: text_emb (N, D), motion_emb (N, D) with N >= pool_size.
    """
    hits = retrieval_hits(text_emb, motion_emb, pool_size, top_k)  # (P * pool_size, top_k)
    return hits.sum(axis=0) / hits.shape[0]


def r_precision(
    text_emb: np.ndarray,
    motion_emb: np.ndarray,
    pool_size: int = R_PRECISION_POOL,
    top_k: int = R_PRECISION_TOP_K,
    generator: RandomSource | None = None,
) -> np.ndarray:
    """R-precision: how often a text retrieves its own motion among ``pool_size`` candidates.

    The N pairs are shuffled with ``generator`` and cut into ``N // pool_size`` pools of
    ``pool_size`` pairs; the incomplete remainder is dropped (the reference evaluation loader
    uses ``drop_last=True``); then ``r_precision_batches`` scores the pools.

    Shapes: text_emb (N, D), motion_emb (N, D) with N >= pool_size -> (top_k,).
    """
    t, m = _paired(text_emb, motion_emb)
    _check_pool(t.shape[0], pool_size, top_k)
    order = _rng(generator).permutation(t.shape[0])  # (N,): item order[j] goes to position j
    return r_precision_batches(t[order], m[order], pool_size, top_k)


# --- variety ------------------------------------------------------------------------------------


def distinct_pair_count(num_items: int, num_pairs: int) -> int:
    """Pairs ``distinct_pairs`` draws: ``min(num_pairs, n (n - 1) / 2)`` (0 when n < 2)."""
    if num_pairs < 1:
        raise ValueError(f"num_pairs must be >= 1, got {num_pairs}")
    return min(num_pairs, num_items * (num_items - 1) // 2)


def distinct_pairs(
    num_items: int, num_pairs: int, generator: RandomSource | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """``S = distinct_pair_count(n, num_pairs)`` pairs a_s < b_s drawn uniformly without
    replacement among the n (n - 1) / 2 pairs of two different items; rank r (row-major upper
    triangle) -> ``a = n - 2 - floor((sqrt(4 n (n - 1) - 8 r - 7) - 1) / 2)``,
    ``b = r + a + 1 - n (n - 1) / 2 + (n - a) (n - a - 1) / 2``. -> (S,), (S,) int64."""
    count = distinct_pair_count(num_items, num_pairs)
    if count < 1:
        raise ValueError(f"need at least 2 items to form a pair, got {num_items}")
    n, total = num_items, num_items * (num_items - 1) // 2
    rank = np.asarray(_rng(generator).choice(total, count, replace=False), dtype=np.int64)
    root = np.sqrt(4.0 * n * (n - 1) - 8.0 * rank - 7.0)  # (S,)
    first = (n - 2 - np.floor((root - 1.0) / 2.0)).astype(np.int64)
    second = rank + first + 1 - total + (n - first) * (n - first - 1) // 2
    return first, second


def _pairs(
    available: int, num_pairs: int, clamp: bool, distinct: bool, rng: RandomSource, what: str
) -> tuple[np.ndarray, np.ndarray]:
    """The (S,) index arrays of ``diversity`` / ``multimodality`` (rules in their docstrings)."""
    if distinct:
        if not clamp and distinct_pair_count(available, num_pairs) < num_pairs:
            raise ValueError(
                f"{what}: {available} samples give fewer than num_pairs={num_pairs} distinct "
                "pairs; generate more or pass clamp=True"
            )
        return distinct_pairs(available, num_pairs, rng)
    count = _pair_count(available, num_pairs, clamp, what)
    first = rng.choice(available, count, replace=False)  # (S,)
    return first, rng.choice(available, count, replace=False)


def diversity(
    motion_emb: np.ndarray,
    num_pairs: int = DIVERSITY_PAIRS,
    generator: RandomSource | None = None,
    clamp: bool = False,
    distinct: bool = False,
) -> float:
    """Diversity: mean distance between two random subsets of the motions.

        Div = (1/S) sum_{s=1..S} ||x_{a_s} - x_{b_s}||,  a, b: S distinct indices each

    ``a`` and ``b`` are drawn independently without replacement (as Guo et al.), so a pair may
    join a motion with itself. Shapes: (N, D) -> float. Raises ValueError if N < num_pairs unless
    ``clamp``, which uses ``S = min(num_pairs, N)`` (noisier, same expectation up to the ~S/N
    self-pairs). ``distinct=True``: S pairs of two different motions (``distinct_pairs``):
    S = num_pairs when N (N - 1) / 2 >= num_pairs (N >= 26 for 300), else an error or, with
    ``clamp``, all pairs."""
    x = _embeddings(motion_emb, "motion_emb")
    first, second = _pairs(x.shape[0], num_pairs, clamp, distinct, _rng(generator), "diversity")
    return float(np.linalg.norm(x[first] - x[second], axis=1).mean())


def multimodality(
    motion_emb: np.ndarray,
    num_pairs: int = MULTIMODALITY_PAIRS,
    generator: RandomSource | None = None,
    clamp: bool = False,
    distinct: bool = False,
) -> float:
    """Multimodality: mean distance between random pairs of generations of the same prompt.

        MModality = (1/(P S)) sum_p sum_{s=1..S} ||x_{p, a_s} - x_{p, b_s}||

    ``a`` and ``b`` are S distinct generation indices each, drawn once and shared by all
    prompts (as Guo et al.). Shapes: (P, R, D) -> float. Raises ValueError if R < num_pairs
    unless ``clamp`` (then S = min(num_pairs, R), same rule as ``diversity``). ``distinct=True``:
    S pairs of two different generations (``distinct_pairs``, never a generation with itself).
    """
    x = _embeddings(motion_emb, "motion_emb", ndim=3)
    rng = _rng(generator)
    first, second = _pairs(x.shape[1], num_pairs, clamp, distinct, rng, "multimodality")
    return float(np.linalg.norm(x[:, first] - x[:, second], axis=2).mean())


def diversity_pairs_for(num_samples: int) -> int:
    """The reference protocol's diversity pair count: 300 if N > 300, else 100."""
    return DIVERSITY_PAIRS if num_samples > DIVERSITY_PAIRS else DIVERSITY_PAIRS_SMALL


# --- replications -------------------------------------------------------------------------------


def replication_summary(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and 95% half-interval of a metric over R replications (Guo et al.):

        mean = (1/R) sum_r x_r,  ci95 = 1.96 * std(x) / sqrt(R),  std with ddof 0 (np.std)

    Shapes: (R,) or (R, K) -> mean and ci95 of shape () or (K,). R >= 1 (R = 1 gives ci95 0).
    """
    x = np.asarray(values, dtype=np.float64)
    if x.ndim == 0 or x.shape[0] == 0:
        raise ValueError(f"need at least one replication, got values of shape {x.shape}")
    if not np.isfinite(x).all():
        raise ValueError("a replication's metric is NaN or inf; check that replication's outputs")
    return x.mean(axis=0), CI_Z * x.std(axis=0) / np.sqrt(x.shape[0])


# --- concept recognition (ESD efficacy / specificity) -------------------------------------------


def _unit_rows(x: np.ndarray, name: str) -> np.ndarray:
    norms = np.linalg.norm(x, axis=1, keepdims=True)  # (N, 1)
    if (norms == 0).any():
        row = int(np.flatnonzero(norms[:, 0] == 0)[0])
        raise ValueError(f"{name} row {row} is all zeros: cosine similarity is undefined")
    return x / norms


def recognise(motion_emb: np.ndarray, concept_emb: np.ndarray) -> np.ndarray:
    """Zero-shot recognition: index of the most cosine-similar concept for each motion.

        c(i) = argmax_k <x_i, e_k> / (||x_i|| ||e_k||)

    Shapes: motion_emb (N, D), concept_emb (K, D) -> (N,) int64 in [0, K). Ties go to the lower k.
    """
    x = _embeddings(motion_emb, "motion_emb")
    e = _embeddings(concept_emb, "concept_emb")
    if x.shape[1] != e.shape[1]:
        raise ValueError(f"motion_emb {x.shape} and concept_emb {e.shape} must share the width D")
    similarity = _unit_rows(x, "motion_emb") @ _unit_rows(e, "concept_emb").T  # (N, K)
    return similarity.argmax(axis=1).astype(np.int64)


def concept_rate(motion_emb: np.ndarray, concept_emb: np.ndarray, concept_index: int) -> float:
    """Share of motions recognised as concept ``concept_index``: (1/N) sum_i [c(i) = k].

    The ESD measure: on motions generated from the erased concept's prompts it is the
    efficacy (lower is better after erasure); on other concepts' prompts it is the
    specificity/preservation (should stay as before). Shapes: (N, D), (K, D) -> float in [0, 1].
    """
    recognised = recognise(motion_emb, concept_emb)  # (N,), also validates the shapes
    num_concepts = np.shape(concept_emb)[0]
    if not 0 <= concept_index < num_concepts:
        raise ValueError(
            f"concept_index {concept_index} is out of range for {num_concepts} concepts"
        )
    return float((recognised == concept_index).mean())
