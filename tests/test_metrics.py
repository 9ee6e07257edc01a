"""Known-answer tests for esd.evaluation.metrics (all deterministic: fixed seeds)."""

import math

import numpy as np
import pytest
from scipy import linalg

from esd.evaluation import metrics


def _rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


# --- distances ----------------------------------------------------------------------------------


def test_euclidean_distance_matrix_known_values():
    a = np.array([[0.0, 0.0], [3.0, 4.0]])
    b = np.array([[0.0, 0.0], [6.0, 8.0], [3.0, 0.0]])
    expected = np.array([[0.0, 10.0, 3.0], [5.0, 5.0, 4.0]])
    np.testing.assert_allclose(metrics.euclidean_distance_matrix(a, b), expected, atol=1e-12)
    x = _rng().normal(size=(7, 5))
    assert np.all(np.diagonal(metrics.euclidean_distance_matrix(x, x)) == 0.0)


def test_matching_score_identical_is_zero_and_known_offset():
    x = _rng().normal(size=(50, 8))
    assert metrics.matching_score(x, x) == 0.0
    shifted = x + np.array([3.0, 4.0] + [0.0] * 6)  # every pair exactly 5 apart
    assert metrics.matching_score(x, shifted) == pytest.approx(5.0)


# --- FID ----------------------------------------------------------------------------------------


def test_embedding_statistics_matches_numpy():
    x = _rng().normal(size=(40, 3))
    mu, cov = metrics.embedding_statistics(x)
    np.testing.assert_allclose(mu, x.mean(0))
    np.testing.assert_allclose(cov, np.cov(x.T))  # unbiased (ddof 1), as the reference code


def test_fid_of_identical_sets_is_zero():
    x = _rng().normal(size=(200, 16))
    assert metrics.frechet_distance(x, x) == pytest.approx(0.0, abs=1e-8)


def test_fid_closed_form_for_diagonal_gaussians():
    mu_a, mu_b = np.array([0.0, 1.0, -2.0]), np.array([1.0, 1.0, 0.0])
    var_a, var_b = np.array([1.0, 4.0, 0.25]), np.array([9.0, 1.0, 0.25])
    # ||mu_a - mu_b||^2 + sum (s_a + s_b - 2 sqrt(s_a s_b)) = 5 + sum (sqrt(s_a) - sqrt(s_b))^2
    expected = 5.0 + ((np.sqrt(var_a) - np.sqrt(var_b)) ** 2).sum()  # 5 + 4 + 1 + 0 = 10
    assert expected == pytest.approx(10.0)
    got = metrics.frechet_distance_from_statistics(mu_a, np.diag(var_a), mu_b, np.diag(var_b))
    assert got == pytest.approx(expected, rel=1e-9)


def test_fid_from_samples_approaches_closed_form():
    rng = _rng(1)
    mu_a, mu_b = np.zeros(4), np.array([1.0, 0.0, 0.0, 2.0])
    sd_a, sd_b = np.array([1.0, 2.0, 1.0, 1.0]), np.array([1.0, 1.0, 3.0, 1.0])
    a = mu_a + sd_a * rng.normal(size=(20000, 4))
    b = mu_b + sd_b * rng.normal(size=(20000, 4))
    expected = 5.0 + ((sd_a - sd_b) ** 2).sum()  # 5 + 1 + 4 = 10
    assert metrics.frechet_distance(a, b) == pytest.approx(expected, abs=0.3)


def test_fid_full_covariance_matches_general_formula():
    rng = _rng(2)
    m_a, m_b = rng.normal(size=(5, 5)), rng.normal(size=(5, 5))
    cov_a, cov_b = m_a @ m_a.T + np.eye(5), m_b @ m_b.T + np.eye(5)
    mu_a, mu_b = rng.normal(size=5), rng.normal(size=5)
    # Equivalent symmetric form: Tr(S_a + S_b - 2 (S_a^(1/2) S_b S_a^(1/2))^(1/2)).
    root_a = linalg.sqrtm(cov_a).real
    cross = linalg.sqrtm(root_a @ cov_b @ root_a).real
    expected = ((mu_a - mu_b) ** 2).sum() + np.trace(cov_a + cov_b - 2 * cross)
    got = metrics.frechet_distance_from_statistics(mu_a, cov_a, mu_b, cov_b)
    assert got == pytest.approx(expected, rel=1e-8)


def test_fid_is_robust_to_singular_covariances():
    rng = _rng(3)
    a, b = rng.normal(size=(6, 20)), rng.normal(size=(6, 20))  # N < D: rank-deficient covs
    value = metrics.frechet_distance(a, b)
    assert math.isfinite(value) and value > 0
    constant = np.ones((10, 4))  # zero covariance: S_a S_b = 0
    assert metrics.frechet_distance(constant, constant + 2.0) == pytest.approx(16.0, abs=1e-5)


def test_fid_bad_inputs():
    with pytest.raises(ValueError, match="width"):
        metrics.frechet_distance(np.zeros((5, 3)), np.zeros((5, 4)))
    with pytest.raises(ValueError, match="at least 2"):
        metrics.frechet_distance(np.zeros((1, 3)), np.zeros((5, 3)))
    with pytest.raises(ValueError, match=r"\(N, D\)"):
        metrics.frechet_distance(np.zeros(5), np.zeros((5, 1)))
    with pytest.raises(ValueError, match="NaN"):
        metrics.frechet_distance(np.full((5, 2), np.nan), np.zeros((5, 2)))
    with pytest.raises(ValueError, match="do not match"):
        metrics.frechet_distance_from_statistics(np.zeros(3), np.eye(3), np.zeros(3), np.eye(2))


# --- R-precision --------------------------------------------------------------------------------


def test_r_precision_is_one_for_aligned_embeddings():
    x = _rng().normal(size=(100, 16))
    r = metrics.r_precision(x, x, generator=_rng(1))
    np.testing.assert_array_equal(r, [1.0, 1.0, 1.0])


def test_r_precision_of_random_embeddings_is_chance():
    rng = _rng(4)
    n = 32 * 200
    r = metrics.r_precision(rng.normal(size=(n, 8)), rng.normal(size=(n, 8)), generator=_rng(5))
    chance = np.arange(1, 4) / 32
    # binomial sd of R@k over 6400 texts is <= 0.0037; 0.015 is a 4-sd bound
    np.testing.assert_allclose(r, chance, atol=0.015)
    assert np.all(np.diff(r) >= 0)


def test_r_precision_ties_count_at_chance_not_as_hits():
    collapsed = np.zeros((64, 4))  # a model that outputs one motion for every text
    r = metrics.r_precision(collapsed, collapsed, generator=_rng(6))
    np.testing.assert_allclose(r, np.arange(1, 4) / 32)


def test_r_precision_known_second_rank():
    # 32 texts on a line; motion i sits next to text i but text i's nearest motion is i+1's.
    texts = np.arange(32.0)[:, None] * 10.0
    motions = texts + 6.0  # |t_i - m_i| = 6, |t_i - m_{i-1}| = 4: true match is 2nd (1st for i=0)
    r = metrics.r_precision(texts, motions, generator=_rng(7))
    np.testing.assert_allclose(r, [1 / 32, 1.0, 1.0])


def test_r_precision_drops_incomplete_pool_and_is_deterministic():
    rng = _rng(8)
    t, m = rng.normal(size=(70, 5)), rng.normal(size=(70, 5))
    first = metrics.r_precision(t, m, generator=_rng(9))
    np.testing.assert_array_equal(first, metrics.r_precision(t, m, generator=_rng(9)))
    assert np.all(first * 64 == np.round(first * 64))  # 2 pools of 32 = 64 texts scored


def test_r_precision_bad_inputs():
    x = np.zeros((31, 4))
    with pytest.raises(ValueError, match="at least pool_size=32"):
        metrics.r_precision(x, x)
    with pytest.raises(ValueError, match="same shape"):
        metrics.r_precision(np.zeros((40, 4)), np.zeros((40, 5)))
    with pytest.raises(ValueError, match="top_k"):
        metrics.r_precision(np.zeros((40, 4)), np.zeros((40, 4)), top_k=0)


# --- diversity / multimodality ------------------------------------------------------------------


def test_diversity_of_constant_set_is_zero():
    assert metrics.diversity(np.ones((400, 6)), generator=_rng()) == 0.0


def test_diversity_of_one_hot_points_is_sqrt2():
    # distinct one-hot vectors are sqrt(2) apart; a self-pair (prob ~1/N per pair) gives 0
    x = np.eye(1000)
    value = metrics.diversity(x, num_pairs=300, generator=_rng(10))
    assert math.sqrt(2) * (1 - 3 / 300) <= value <= math.sqrt(2) + 1e-12


def test_diversity_needs_enough_samples_or_clamp():
    x = _rng().normal(size=(50, 3))
    with pytest.raises(ValueError, match="fewer than num_pairs=300"):
        metrics.diversity(x)
    assert metrics.diversity(x, clamp=True, generator=_rng(1)) > 0
    assert metrics.diversity(x, generator=_rng(2), clamp=True) == metrics.diversity(
        x, generator=_rng(2), num_pairs=50
    )


def test_multimodality_within_group_only():
    # each prompt's generations are identical, prompts far apart: multimodality is 0
    groups = np.repeat(np.arange(5.0)[:, None, None] * 100, 20, axis=1)  # (5, 20, 1)
    groups = np.repeat(groups, 3, axis=2)  # (P=5, R=20, D=3)
    assert metrics.multimodality(groups, generator=_rng()) == 0.0


def test_multimodality_known_scale():
    r = 400
    scales = np.array([1.0, 2.0, 3.0])
    groups = scales[:, None, None] * np.eye(r)[None]  # (P=3, R=400, D=400): pairs s*sqrt(2) apart
    value = metrics.multimodality(groups, num_pairs=10, generator=_rng(11))
    assert value == pytest.approx(math.sqrt(2) * scales.mean())  # no self-pair with this seed


def test_multimodality_bad_inputs():
    with pytest.raises(ValueError, match=r"\(P, R, D\)"):
        metrics.multimodality(np.zeros((5, 3)))
    with pytest.raises(ValueError, match="fewer than num_pairs=10"):
        metrics.multimodality(np.zeros((2, 5, 3)))


# --- recognition --------------------------------------------------------------------------------


def test_recognise_by_cosine_not_distance():
    concepts = np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0]])
    motions = np.array([[10.0, 1.0], [0.1, 0.2], [-3.0, 2.0], [0.5, -0.1]])
    np.testing.assert_array_equal(metrics.recognise(motions, concepts), [0, 1, 2, 0])


def test_concept_rate_counts_share():
    concepts = np.eye(3)
    motions = np.array([[1, 0, 0], [0.9, 0.1, 0], [0, 1, 0], [0, 0, 1], [0.2, 0, 0.1]], float)
    assert metrics.concept_rate(motions, concepts, 0) == pytest.approx(3 / 5)
    assert metrics.concept_rate(motions, concepts, 1) == pytest.approx(1 / 5)
    assert metrics.concept_rate(motions, concepts, 2) == pytest.approx(1 / 5)


def test_recognition_bad_inputs():
    with pytest.raises(ValueError, match="share the width"):
        metrics.recognise(np.ones((3, 2)), np.ones((2, 3)))
    with pytest.raises(ValueError, match="all zeros"):
        metrics.recognise(np.zeros((3, 2)), np.eye(2))
    with pytest.raises(ValueError, match="out of range"):
        metrics.concept_rate(np.ones((3, 2)), np.eye(2), 2)


# --- T2M protocol additions ---------------------------------------------------------------------


def test_r_precision_batches_uses_consecutive_pools():
    # pool 0 is perfectly aligned, pool 1 is the "second rank" line: mean of the two pools
    aligned = _rng(12).normal(size=(32, 4)) * 100.0
    line = np.arange(32.0)[:, None] * 10.0 + 1e4
    texts = np.concatenate([aligned, np.repeat(line, 4, axis=1)])
    motions = np.concatenate([aligned, np.repeat(line + 6.0, 4, axis=1)])
    r = metrics.r_precision_batches(texts, motions)
    np.testing.assert_allclose(r, [(1.0 + 1 / 32) / 2, 1.0, 1.0])
    # the random-pool version mixes the two halves, so it must differ from the ordered one
    assert not np.allclose(metrics.r_precision(texts, motions, generator=_rng(13)), r)


def test_r_precision_is_batches_of_the_permutation():
    rng = _rng(14)
    t, m = rng.normal(size=(96, 6)), rng.normal(size=(96, 6))
    order = _rng(15).permutation(96)
    np.testing.assert_array_equal(
        metrics.r_precision(t, m, generator=_rng(15)),
        metrics.r_precision_batches(t[order], m[order]),
    )


def test_strict_fid_raises_on_a_materially_complex_root():
    # S_b is indefinite, so S_a S_b has a negative eigenvalue and its square root is imaginary
    cov_a = np.array([[1.0, 0.0], [0.0, 4.0]])
    cov_b = np.array([[1.0, 3.0], [3.0, 1.0]])  # eigenvalues 4 and -2
    mu = np.zeros(2)
    with pytest.raises(metrics.FIDError, match="imaginary"):
        metrics.frechet_distance_from_statistics(mu, cov_a, mu, cov_b, strict=True)
    with pytest.warns(RuntimeWarning, match="imaginary"):
        lenient = metrics.frechet_distance_from_statistics(mu, cov_a, mu, cov_b)
    assert math.isfinite(lenient)


def test_strict_and_lenient_fid_agree_when_defined():
    rng = _rng(16)
    a, b = rng.normal(size=(80, 5)), rng.normal(size=(90, 5)) + 0.5
    assert metrics.frechet_distance(a, b, strict=True) == metrics.frechet_distance(a, b)


def test_diversity_pairs_rule():
    assert metrics.diversity_pairs_for(301) == 300
    assert metrics.diversity_pairs_for(300) == 100
    assert metrics.diversity_pairs_for(64) == 100


def test_replication_summary_known_values():
    mean, ci = metrics.replication_summary(np.array([1.0, 3.0]))
    assert mean == pytest.approx(2.0)
    assert ci == pytest.approx(1.96 * 1.0 / math.sqrt(2))  # np.std (ddof 0) of [1, 3] is 1
    mean, ci = metrics.replication_summary(np.array([[0.1, 0.2], [0.3, 0.2]]))
    np.testing.assert_allclose(mean, [0.2, 0.2])
    np.testing.assert_allclose(ci, [1.96 * 0.1 / math.sqrt(2), 0.0], atol=1e-15)
    with pytest.raises(ValueError, match="at least one replication"):
        metrics.replication_summary(np.zeros(0))
    with pytest.raises(ValueError, match="NaN"):
        metrics.replication_summary(np.array([1.0, np.nan]))


# --- bundled-engine additions: closed-form FID, per-item forms, distinct pairs -----------------


@pytest.mark.parametrize("n, m, dim", [(40, 50, 8), (300, 200, 8), (6, 9, 20), (5, 300, 12)])
def test_closed_form_fid_equals_the_matrix_root_fid(n, m, dim):
    rng = _rng(20)
    a = rng.normal(size=(n, dim)) @ rng.normal(size=(dim, dim))
    b = rng.normal(size=(m, dim)) * 1.3 + 0.4
    assert metrics.frechet_distance_closed_form(a, b) == pytest.approx(
        metrics.frechet_distance(a, b), rel=1e-6, abs=1e-6
    )


def test_closed_form_fid_with_a_rank_deficient_covariance_and_more_samples_than_dims():
    rng = _rng(23)
    a = rng.normal(size=(200, 3)) @ rng.normal(size=(3, 8))  # N > D, rank 3: Cholesky fails
    b = rng.normal(size=(150, 8)) + 0.2
    (mu_a, cov_a), (mu_b, cov_b) = metrics.embedding_statistics(a), metrics.embedding_statistics(b)
    w, v = np.linalg.eigh(cov_a)
    root_a = (v * np.sqrt(np.clip(w, 0, None))) @ v.T  # PSD square root of S_a
    inner = np.linalg.eigvalsh(root_a @ cov_b @ root_a)  # Tr (S_a S_b)^(1/2) = sum sqrt(eig)
    expected = ((mu_a - mu_b) ** 2).sum() + np.trace(cov_a) + np.trace(cov_b)
    expected -= 2 * np.sqrt(np.clip(inner, 0, None)).sum()
    assert metrics.frechet_distance_closed_form(a, b) == pytest.approx(expected, rel=1e-6)


def test_closed_form_fid_stacks_and_handles_zero_covariance():
    rng = _rng(21)
    a, b = rng.normal(size=(4, 30, 6)), rng.normal(size=(4, 25, 6)) + 1.0
    stacked = metrics.frechet_distance_closed_form(a, b)
    assert stacked.shape == (4,)
    np.testing.assert_allclose(
        stacked, [metrics.frechet_distance(a[i], b[i], strict=True) for i in range(4)], rtol=1e-9
    )
    constant = np.ones((10, 4))
    assert metrics.frechet_distance_closed_form(constant, constant + 2.0) == pytest.approx(16.0)
    with pytest.raises(ValueError, match="at least 2"):
        metrics.frechet_distance_closed_form(np.zeros((1, 3)), np.zeros((5, 3)))


def test_retrieval_hits_and_matching_distances_average_to_the_metrics():
    rng = _rng(22)
    t, m = rng.normal(size=(70, 5)), rng.normal(size=(70, 5))
    hits = metrics.retrieval_hits(t, m)
    assert hits.shape == (64, 3) and hits.dtype == bool
    np.testing.assert_array_equal(hits.mean(axis=0), metrics.r_precision_batches(t, m))
    assert (hits[:, 0] <= hits[:, 1]).all() and (hits[:, 1] <= hits[:, 2]).all()
    distances = metrics.matching_distances(t, m)
    assert distances.mean() == pytest.approx(metrics.matching_score(t, m))
    assert distances[3] == pytest.approx(np.linalg.norm(t[3] - m[3]))


def test_distinct_pairs_are_every_pair_of_two_different_items_once():
    for n in range(2, 40):
        first, second = metrics.distinct_pairs(n, 10**6, _rng(n))
        upper = np.triu_indices(n, 1)
        assert sorted(zip(first.tolist(), second.tolist())) == list(zip(*map(list, upper)))
    first, second = metrics.distinct_pairs(100_000, 5000, _rng(1))
    assert (first < second).all() and first.min() >= 0 and second.max() < 100_000
    assert len(set(zip(first.tolist(), second.tolist()))) == 5000
    assert (
        metrics.distinct_pair_count(32, 300) == 300 and metrics.distinct_pair_count(20, 300) == 190
    )


def test_distinct_diversity_never_pairs_a_motion_with_itself():
    # 32 distinct one-hot motions: any two different ones are sqrt(2) apart, a self-pair is 0
    x = np.eye(32)
    for seed in range(20):
        assert metrics.diversity(x, generator=_rng(seed), clamp=True, distinct=True) == (
            pytest.approx(math.sqrt(2), abs=1e-12)
        )
    with pytest.raises(ValueError, match="fewer than num_pairs=300 distinct pairs"):
        metrics.diversity(np.eye(20), distinct=True)


def test_distinct_multimodality_never_pairs_a_generation_with_itself():
    # R = 30 different generations per prompt at distance s * sqrt(2): any self-pair lowers the
    # mean; the reference draw (distinct=False) does include self-pairs for some seeds
    scales = np.array([1.0, 2.0, 3.0])
    groups = scales[:, None, None] * np.eye(30)[None]  # (P=3, R=30, D=30)
    expected = math.sqrt(2) * scales.mean()
    for seed in range(40):
        value = metrics.multimodality(groups, generator=_rng(seed), distinct=True)
        assert value == pytest.approx(expected, abs=1e-12)
    reference = [metrics.multimodality(groups, generator=_rng(s)) for s in range(40)]
    assert min(reference) < expected - 1e-9  # the reference rule does pair a motion with itself


def test_fid_error_is_one_actionable_line():
    cov_a = np.array([[1.0, 0.0], [0.0, 4.0]])
    cov_b = np.array([[1.0, 3.0], [3.0, 1.0]])
    with pytest.raises(metrics.FIDError) as info:
        metrics.frechet_distance_from_statistics(np.zeros(2), cov_a, np.zeros(2), cov_b, True)
    message = str(info.value)
    assert "\n" not in message and "materially complex" in message and "more samples" in message


# --- conformance with the reference metrics (SALAD's fixture: fixed random embeddings) ----------


@pytest.fixture(scope="module")
def reference_metrics(salad_fixture_dir):
    with np.load(salad_fixture_dir / "reference" / "metrics.npz") as data:
        return {key: data[key] for key in data.files}


def test_reference_r_precision_and_matching_score(reference_metrics):
    t, m = reference_metrics["text_emb"], reference_metrics["motion_emb"]
    np.testing.assert_allclose(
        metrics.r_precision_batches(t, m), reference_metrics["r_precision_top123"], atol=1e-12
    )
    assert metrics.matching_score(t, m) == pytest.approx(
        float(reference_metrics["matching_score"]), abs=1e-5
    )


def test_reference_fid(reference_metrics):
    gt, m = reference_metrics["gt_motion_emb"], reference_metrics["motion_emb"]
    assert metrics.frechet_distance(gt, m, strict=True) == pytest.approx(
        float(reference_metrics["fid"]), abs=1e-5
    )


def test_reference_diversity_reproduces_the_draws(reference_metrics):
    seed, pairs = (
        int(reference_metrics["diversity_seed"]),
        int(reference_metrics["diversity_times"]),
    )
    draws = np.random.RandomState(seed)
    np.testing.assert_array_equal(
        draws.choice(64, pairs, replace=False), reference_metrics["diversity_idx1"]
    )
    np.testing.assert_array_equal(
        draws.choice(64, pairs, replace=False), reference_metrics["diversity_idx2"]
    )
    value = metrics.diversity(
        reference_metrics["motion_emb"], pairs, generator=np.random.RandomState(seed)
    )
    assert value == pytest.approx(float(reference_metrics["diversity"]), abs=1e-5)


def test_reference_multimodality(reference_metrics):
    value = metrics.multimodality(
        reference_metrics["mm_activations"],
        int(reference_metrics["mm_times"]),
        generator=np.random.RandomState(int(reference_metrics["mm_seed"])),
    )
    assert value == pytest.approx(float(reference_metrics["multimodality"]), abs=1e-5)
