import hypseg

volume = hypseg.load_volume("cell.nii.gz")                    # NIfTI, MRC, TIFF, NumPy or Zarr
model = hypseg.train([volume], out="run")                     # or: model = hypseg.load_model("run")
result = hypseg.segment([volume], model, recipe="default")    # or recipe="paper"
hypseg.save_labels(result, "seg", like=[volume])              # seg/ as hypseg segment writes it
