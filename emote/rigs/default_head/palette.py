"""Albedo of the default head's materials (display values in [0, 1])."""

from __future__ import annotations

SKIN = (0.80, 0.60, 0.50)
SKIN_SHADE = (0.70, 0.47, 0.40)  # creases, nostril rims
LIPS = (0.72, 0.38, 0.36)
LIP_INNER = (0.62, 0.26, 0.26)
MOUTH = (0.22, 0.07, 0.06)  # the mouth bag, dark red-brown
MOUTH_DEEP = (0.09, 0.03, 0.03)
NOSTRIL = (0.25, 0.12, 0.10)
BROWS = (0.23, 0.15, 0.10)
HAIR = (0.20, 0.13, 0.09)
LASHES = (0.10, 0.07, 0.06)
LID_RIM = (0.74, 0.50, 0.44)
EAR = (0.80, 0.57, 0.48)
EAR_INNER = (0.72, 0.48, 0.41)
SCLERA = (0.93, 0.91, 0.88)
SCLERA_SHADE = (0.85, 0.72, 0.68)
IRIS_INNER = (0.48, 0.34, 0.16)
IRIS_OUTER = (0.26, 0.20, 0.12)
LIMBUS = (0.10, 0.08, 0.06)
PUPIL = (0.02, 0.02, 0.02)
TEETH = (0.93, 0.90, 0.82)
GUMS = (0.78, 0.40, 0.40)
TONGUE = (0.82, 0.45, 0.45)
NECK_CAP = (0.45, 0.32, 0.27)
