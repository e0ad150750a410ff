"""The SS-GAN paper's numbers (Chen et al., CVPR 2019), with where each one comes from.

Data only (a Python module so it ships with the package without packaging changes);
`tools/reproduce.py table` prints these beside measured scores.

Each entry:
  config     the gin config of the table cell (name under gin_configs/, no .gin), or None
  metric     "fid", "inception_score" or "linear_eval_top1"
  value      the number; `std` the spread when the source gives mean +- std
  aggregate  "best_of_3_seeds", "mean_std_3_seeds", "single_model" or "reported"
             (the source does not say how it was aggregated)
  status     "P" read in the paper itself, "V" read in compare_gan's code/colab,
             "S" second-hand (a site or another implementation quoting the paper),
             "U" unverified (recalled; treat as a rough target)
  verified   True only for "P" and "V"
  source     where the number was read
FID protocol of the paper: 10k generated vs 10k test images (CIFAR-10), 50k vs 50k
validation (ImageNet), 30k (LSUN-Bedroom), CelebA-HQ held-out set; best of 3 seeds.
Sources are named per entry; "recalled" entries come from the project's design notes on the
paper's Table 1 and were not checked against the paper's text.
"""

_TABLE1_RECALLED = "Table 1 (recalled in the project's design notes; not checked)"

PAPER_SCORES = [
    # --- Table 1: FID, best of 3 seeds -------------------------------------------------
    dict(config="cifar10/uncond_gan", metric="fid", value=19.73, aggregate="best_of_3_seeds",
         status="U", source=_TABLE1_RECALLED),
    dict(config="cifar10/cond_gan", metric="fid", value=15.60, aggregate="best_of_3_seeds",
         status="U", source=_TABLE1_RECALLED),
    dict(config="cifar10/ssgan", metric="fid", value=17.11, aggregate="best_of_3_seeds",
         status="U", source=_TABLE1_RECALLED),
    dict(config="cifar10/ssgan_sbn", metric="fid", value=15.65, aggregate="best_of_3_seeds",
         status="S", source="Table 1 via wizwand.com"),
    dict(config="imagenet128/uncond_gan", metric="fid", value=56.67,
         aggregate="best_of_3_seeds", status="U", source=_TABLE1_RECALLED),
    dict(config="imagenet128/cond_gan", metric="fid", value=42.91,
         aggregate="best_of_3_seeds", status="U", source=_TABLE1_RECALLED),
    dict(config="imagenet128/ssgan", metric="fid", value=47.56, aggregate="best_of_3_seeds",
         status="U", source=_TABLE1_RECALLED),
    dict(config="imagenet128/ssgan_sbn", metric="fid", value=43.87,
         aggregate="best_of_3_seeds", status="S", source="Table 1 via sotaverified.org"),
    dict(config="lsun_bedroom128/uncond_gan", metric="fid", value=16.02,
         aggregate="best_of_3_seeds", status="U", source=_TABLE1_RECALLED),
    dict(config="lsun_bedroom128/ssgan", metric="fid", value=13.66,
         aggregate="best_of_3_seeds", status="U", source=_TABLE1_RECALLED),
    dict(config="lsun_bedroom128/ssgan_sbn", metric="fid", value=13.30,
         aggregate="best_of_3_seeds", status="S", source="Table 1 via sotaverified.org"),
    dict(config="celeba_hq128/uncond_gan", metric="fid", value=23.77,
         aggregate="best_of_3_seeds", status="U", source=_TABLE1_RECALLED),
    dict(config="celeba_hq128/ssgan", metric="fid", value=26.11, aggregate="best_of_3_seeds",
         status="U", source=_TABLE1_RECALLED),
    dict(config="celeba_hq128/ssgan_sbn", metric="fid", value=24.36,
         aggregate="best_of_3_seeds", status="S", source="Table 1 via sotaverified.org"),
    # --- Table 2 (robustness), the one cell known: mean +- std over 3 seeds ------------
    dict(config="cifar10/ssgan", metric="fid", value=17.88, std=0.64,
         aggregate="mean_std_3_seeds", status="S",
         source="Table 2 via Mimicry's README/tutorial (setting of that cell not recorded)"),
    # --- Large-scale unconditional ImageNet ---------------------------------------------
    dict(config="imagenet128/ssgan_large_biggan", metric="fid", value=23.4,
         aggregate="reported", status="P",
         source="paper abstract (CVPR 2019 / arXiv v2+); aggregation not stated there"),
    dict(config="imagenet128/ssgan_large_biggan", metric="fid", value=20.6,
         aggregate="single_model", status="V",
         source="released TF-Hub ssgan_128x128 module, compare_gan colabs/ssgan_demo.ipynb"),
    dict(config="imagenet128/ssgan_large_biggan", metric="inception_score", value=24.9,
         aggregate="single_model", status="V",
         source="released TF-Hub ssgan_128x128 module, compare_gan colabs/ssgan_demo.ipynb"),
    # --- Representation quality ------------------------------------------------------------
    dict(config="imagenet128/ssgan_sbn", metric="linear_eval_top1", value=38.3,
         aggregate="best_of_3_seeds", status="S",
         source="logistic regression on D features, via wizwand.com; block not recorded"),
]

for _entry in PAPER_SCORES:
  _entry.setdefault("std", None)
  _entry["verified"] = _entry["status"] in ("P", "V")


def scores_for(config, metric="fid"):
  """The entries for one config name (with or without .gin) and metric."""
  name = config[:-4] if config.endswith(".gin") else config
  return [e for e in PAPER_SCORES if e["config"] == name and e["metric"] == metric]
