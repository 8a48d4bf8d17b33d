"""The intensity twin on the real volumes with a rank filter in place of the box mean.

On the tomogram the learned model beats its box-mean twin (``real_data.md``), and its level-1 object over-grows
the nuclei; both fit an encoder that calls a patch bright when part of it is bright. If so, a fixed nonlinear
filter of the box, a high percentile or the maximum, should do on the tomogram what the model does, and over-grow
the nuclei as it does. This scores the default's inference (:func:`benchmarks.real_data.twin_run`) on both sample
volumes with the box's mean, 90th percentile and maximum. It is a diagnostic of what the model learnt, chosen after
the tomogram's results were seen; none of these filters is a recipe or a peer.

    python -m benchmarks.twin_statistics --out benchmarks/results/twin_statistics.md
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Sequence

from benchmarks import real_data as rd

#: the box statistics compared: name -> percentile (None: the mean)
STATISTICS = {"mean": None, "90th percentile": 90.0, "maximum": 100.0}


def rows(folder: Path) -> list[list[str]]:
    """One row per statistic: nuclei foreground DICE at k = 2, tomogram particle F1 at each k."""
    nuclei, tomogram = rd.load_nuclei(folder), rd.load_tomogram(folder)
    near = rd.particle_neighbourhood(tomogram)[2]
    out = []
    for name, percentile in STATISTICS.items():
        dice = rd.foreground_dice(rd.twin_run(nuclei.image, (rd.NUCLEI_CLUSTERS,), percentile=percentile).labels[rd.NUCLEI_CLUSTERS],
                                  nuclei.foreground)
        labels = rd.twin_run(tomogram.image, rd.TOMO_CLUSTERS, percentile=percentile).labels
        f1 = [rd.particle_concentration(labels[k], tomogram.particles, near).f1 for k in rd.TOMO_CLUSTERS]
        out.append([name, f"{dice:.3f}", " / ".join(f"{v:.3f}" for v in f1)])
    return out


def main(argv: Sequence[str] | None = None) -> None:
    from benchmarks.timing import format_table

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, help="also write the table here")
    args = parser.parse_args(argv)
    ks = " / ".join(map(str, rd.TOMO_CLUSTERS))
    table = format_table(["box statistic", "nuclei DICE, k = 2", f"tomogram particle F1, k = {ks}"], rows(rd.sample_folder()))
    print(table)
    if args.out is not None:
        args.out.write_text("# The intensity twin with a rank filter (real volumes, diagnostic)\n\n" + (__doc__ or "").split("\n\n")[1]
                            + "\n\nCommand: `python -m benchmarks.twin_statistics --out " + str(args.out) + "`\n\n" + table + "\n")


if __name__ == "__main__":
    main()
