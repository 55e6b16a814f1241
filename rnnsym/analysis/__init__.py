"""Applications of the pipeline: gradient flow, its figures, and answers to conceptual questions.

- :mod:`~rnnsym.analysis.flow`: ∂h_t/∂h_{t−k} as a product of one-step
  Jacobians;
- :mod:`~rnnsym.analysis.bound`: the per-step bound of an Elman cell (σ_max and
  ρ of W_h), and a gated cell's one-step factors at the model's values;
- :mod:`~rnnsym.analysis.table`: tables of |∂h_T/∂h_t| for several networks;
- :mod:`~rnnsym.analysis.figure`: those tables as a figure and a table in LaTeX;
- :mod:`~rnnsym.analysis.topics`: answers to "why …?" questions, computed on the
  exercise's own model.
"""
