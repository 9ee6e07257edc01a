import torch

from esd.evaluation.contrastive import EvaluatorBundle, EvaluatorConfig, MotionTextEvaluator
from esd.models import checkpoints as ck

TINY = EvaluatorConfig(hidden_dim=32, embed_dim=16, num_blocks=1)


def test_motion_embeddings_are_unit_and_ignore_padding():
    torch.manual_seed(0)
    model = MotionTextEvaluator(TINY).eval()
    x = torch.randn(3, 50, 263)
    lengths = torch.tensor([50, 30, 41])
    garbage = x.clone()
    garbage[1, 30:] = 99.0
    garbage[2, 41:] = -7.0
    emb = model.motion(x, lengths)
    torch.testing.assert_close(emb.norm(dim=-1), torch.ones(3))
    torch.testing.assert_close(model.motion(garbage, lengths), emb)
    torch.testing.assert_close(model.motion(x[1:2, :30], lengths[1:2]), emb[1:2])


def test_contrastive_loss_prefers_aligned_pairs_and_merges_duplicate_captions():
    model = MotionTextEvaluator(TINY)
    emb = torch.nn.functional.normalize(torch.randn(6, 16), dim=-1)
    eye = torch.eye(6, dtype=torch.bool)
    aligned = model.contrastive_loss(emb, emb, eye)
    shuffled = model.contrastive_loss(emb, emb.roll(1, 0), eye)
    assert aligned < shuffled
    # two identical captions: swapping their motions must not change the loss
    same = eye.clone()
    same[0, 1] = same[1, 0] = True
    swapped = emb.clone()
    swapped[[0, 1]] = emb[[1, 0]]
    torch.testing.assert_close(
        model.contrastive_loss(emb, emb, same), model.contrastive_loss(swapped, emb, same)
    )


def test_bundle_round_trips_through_a_checkpoint(tmp_path):
    model = MotionTextEvaluator(TINY).eval()
    bundle = EvaluatorBundle(model, torch.zeros(263), torch.ones(263), {"note": "tiny"})
    ck.save_checkpoint(bundle.to_payload(), tmp_path / "evaluator.tar")
    loaded = EvaluatorBundle.from_payload(ck.load_checkpoint(tmp_path / "evaluator.tar"))
    x, lengths = torch.randn(2, 40, 263), torch.tensor([40, 40])
    torch.testing.assert_close(loaded.embed_motion(x, lengths), bundle.embed_motion(x, lengths))
    assert loaded.info == {"note": "tiny"}
