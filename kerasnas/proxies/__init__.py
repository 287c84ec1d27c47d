"""Training-free proxies: score an untrained model, to pre-screen a space before training.

Every proxy is called as `score(name, model, images)` with a Keras model built by a
space and a minibatch of raw training images; a higher score is meant to predict a
higher trained accuracy. `params` and `flops` are the controls a proxy must beat
(ZiCo, ICLR 2023: few proxies beat the parameter count consistently).
`benchmarks/proxies.py` measures each one's rank correlation with trained accuracy;
`steer` lets one pick a search's random draws on a space where it beat them.
"""

from kerasnas.proxies._counts import flops, params
from kerasnas.proxies._naswot import naswot
from kerasnas.proxies._prescreen import Candidate, prescreen, sample_values
from kerasnas.proxies._registry import PROXIES, score
from kerasnas.proxies._steer import STEER_IMAGES, ProxyScore, steer, steering_proxy
from kerasnas.proxies._synflow import synflow

__all__ = ["PROXIES", "STEER_IMAGES", "Candidate", "ProxyScore", "flops", "naswot", "params",
           "prescreen", "sample_values", "score", "steer", "steering_proxy", "synflow"]
