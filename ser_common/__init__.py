"""ser_common: the small helper library under the ser-notebooks lessons.

Framework-neutral (numpy in, numpy out) and paper-free: each paper's features, model and
recipe live in ``papers/<paper>/``. The two training helpers,
``ser_common.torch_training`` and ``ser_common.keras_training``, are imported on demand,
so importing ``ser_common`` never starts TensorFlow or PyTorch.

Public names used by the notebooks and the README::

    from ser_common import load_manifest, fetch_corpus, make_synthetic, load_audio
    from ser_common import FeatureSpec, extract_features
    from ser_common import splits, metrics, results, plots
    from ser_common.experiment import Experiment, FoldOutcome
"""

from ser_common import metrics, plots, results, splits
from ser_common.audio import AudioError, fix_length, load_audio
from ser_common.corpora import CORPORA, CorpusNotFoundError, corpus_root, load_manifest
from ser_common.download import fetch_corpus
from ser_common.features import FeatureSpec, extract_features
from ser_common.synthetic import make_synthetic

__all__ = ["AudioError", "CORPORA", "CorpusNotFoundError", "FeatureSpec", "corpus_root", "extract_features",
           "fetch_corpus", "fix_length", "load_audio", "load_manifest", "make_synthetic", "metrics", "plots", "results",
           "splits"]

__version__ = "0.2.0"

