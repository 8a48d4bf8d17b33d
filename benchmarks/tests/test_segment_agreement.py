"""The CLI without options gives exactly the label maps the quality benchmark scores."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from typer.testing import CliRunner

from hypseg.cli.app import app
from hypseg.config import smoke_recipe


def smoke10():
    """The smoke recipe at m = 10, so that the presets' patch sides 5 and 10 fit its model."""
    recipe = smoke_recipe()
    return dataclasses.replace(recipe, model=dataclasses.replace(recipe.model, patch_size=10),
                               data=dataclasses.replace(recipe.data, patch_resize=10))


@pytest.fixture(scope="module")
def dataset_and_model(tmp_path_factory):
    from hypseg.data import SyntheticConfig, discover_cases, load_normalised, write_synthetic_dataset
    from hypseg.training import Trainer

    root = tmp_path_factory.mktemp("recipe")
    write_synthetic_dataset(root / "data", n=12, seed=0, config=SyntheticConfig.scaled(32))
    cases = discover_cases([root / "data"])
    config = smoke10()
    Trainer(config, load_normalised([c for c in cases if c.split == "train"], config=config.data),
            run_dir=root / "run", progress=False).fit()
    return root, [c for c in cases if c.split == "test"], config


def test_segment_without_options_gives_the_label_maps_the_quality_benchmark_scores(dataset_and_model):
    from benchmarks import quality
    from hypseg.data import load_normalised, supervoxels
    from hypseg.inference import embed_volume_multiscale, load_model
    from hypseg.io import load_labels

    root, test, config = dataset_and_model
    assert len(test) == 2
    out = root / "seg"
    result = CliRunner().invoke(app, ["segment", *(str(c.image) for c in test), "--model", str(root / "run"), "--out", str(out)])
    assert result.exit_code == 0, result.output
    # the benchmark's path: its own embeddings, supervoxels and shared purity weights, then segment_embeddings
    volumes = load_normalised(test, config=config.data)
    model = load_model(root / "run").network
    levels = quality.CELL_LEVELS
    embeddings = {sides: [embed_volume_multiscale(model, v, patch_sizes=sides, inversion=quality.inverted(sides)) for v in volumes]
                  for sides in dict.fromkeys(quality.INFERENCE[level].patch_sides for level in levels)}
    settings = list(dict.fromkeys(quality.INFERENCE.values()))
    segments = {500: [supervoxels(v, size=500) for v in volumes]}
    scored = quality.segment_embeddings(embeddings, config, levels, seed=0, segments=segments,
                                        weights=quality.level_weights(settings, segments), volumes=volumes)
    for i, case in enumerate(test):
        for level, k in levels.items():
            np.testing.assert_array_equal(load_labels(out / f"{case.name}_k{k}.nii.gz"), scored[level][i])
