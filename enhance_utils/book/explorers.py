"""The chapters' explorers: ipywidgets controls over a view, with a static fallback.

A page of the built book has no kernel behind it: controls there would do nothing. The build
drops the widget state (:func:`enhance_utils.book.build.drop_widget_state`), so a page loads no
widget library and shows no controls; in the build every explorer therefore also draws its first
view as ordinary output (figure and table), which is what the book's HTML shows. The build says
so explicitly: it sets the chapter's parameter ``static_views``
(:func:`enhance_utils.book.build.chapter_parameters`), which the chapter passes on as
``show_static``. In Jupyter(Lab), Colab or Binder (``static_views`` off) the view is drawn once,
inside the widget, whose controls redraw it.

The explorers are the book's: they draw with what the analysis returns (data and figures),
which knows nothing of widgets. Here: :func:`correlation_explorer` (chapter 04),
:func:`roc_explorer` (07) and :func:`gradcam_explorer` (09); the figures' own,
:func:`enhance_utils.book.figures.lesion_explorer` (01) and the ABC explorer (03), in
:mod:`enhance_utils.book.figures`.
"""
from __future__ import annotations

from typing import Callable

import pandas as pd

from ..options import DEFAULT_RESAMPLES, DEFAULT_SEED, STUDENT_RULES

#: the split choice of :func:`roc_explorer` that pools every split
ALL_SPLITS = "all splits"
#: the choice of a :func:`lesion_picker` filter that leaves it open
ANY = "any"


def show(render: Callable[..., None], controls: dict, show_static: bool = False,
         filters=()) -> None:
    """Display ``controls`` driving ``render(**values)``, and the static fallback.

    Parameters
    ----------
    render : callable
        Draws one view (figures with ``plt.show()``, tables with ``display``) from the
        controls' values, passed by the keys of ``controls``.
    controls : dict
        ``name -> ipywidgets`` value widget, shown in one row in this order.
    show_static : bool
        Also draw the view of the controls' first values as plain output: only for the built
        page (the chapter's ``static_views``), a live kernel shows that view in the widget.
    filters : sequence of widgets
        Shown in a row above the controls: widgets that narrow a control's choices (e.g.
        :func:`lesion_picker`'s), not passed to ``render``.
    """
    import ipywidgets as widgets
    from IPython.display import display

    out = widgets.interactive_output(render, controls)
    rows = [widgets.HBox(list(filters))] if filters else []
    display(widgets.VBox(rows + [widgets.HBox(list(controls.values())), out]))
    if show_static:
        render(**{name: control.value for name, control in controls.items()})


def dropdown(options, description: str, value=None):
    """An ipywidgets dropdown over ``options`` (values, or ``(label, value)`` pairs)."""
    import ipywidgets as widgets

    options = list(options)
    if not options:
        raise ValueError(f"nothing to choose for {description!r}")
    first = options[0][1] if isinstance(options[0], tuple) else options[0]
    return widgets.Dropdown(options=options, value=first if value is None else value,
                            description=description)



def filter_lesions(lesions, diagnosis: dict, dataset: str = ANY, label: str = ANY,
                   text: str = "") -> list[tuple[str, str]]:
    """The ``(dataset, lesion_id)`` pairs of ``lesions`` in ``dataset`` whose diagnosis (from
    ``diagnosis``) is ``label`` and whose id contains ``text`` (case ignored), in their order;
    :data:`ANY` and an empty text leave a filter open."""
    text = text.strip().lower()
    return [(d, i) for d, i in lesions
            if dataset in (ANY, d) and label in (ANY, diagnosis.get((d, i)))
            and text in i.lower()]


def lesion_picker(lesions, diagnosis: dict):
    """A dropdown over ``lesions`` (``(dataset, lesion_id)`` pairs, labelled with their
    diagnosis) and the filters that narrow it — dataset, diagnosis, a part of the id — so that
    two thousand lesions can be browsed; a count says how many match. A filter that matches
    nothing leaves the dropdown as it was and says so.

    Returns
    -------
    (Dropdown, list of widgets)
        The lesion control and the filters, for :func:`show`.
    """
    import ipywidgets as widgets

    lesions = [tuple(lesion) for lesion in lesions]

    def labelled(chosen):
        return [(f"{d}: {i} ({diagnosis.get((d, i), '?')})", (d, i)) for d, i in chosen]

    picker = dropdown(labelled(lesions), "lesion")
    datasets = dropdown([ANY] + sorted({d for d, _ in lesions}), "dataset")
    labels = dropdown([ANY] + sorted({diagnosis[lesion] for lesion in lesions
                                      if lesion in diagnosis}), "diagnosis")
    text = widgets.Text(value="", placeholder="e.g. 00000", description="id contains")
    count = widgets.Label(f"{len(lesions)} of {len(lesions)} lesions")

    def narrow(_change=None):
        chosen = filter_lesions(lesions, diagnosis, datasets.value, labels.value, text.value)
        if not chosen:
            count.value = f"no lesion matches; still {len(picker.options)} shown"
            return
        picker.options = labelled(chosen)
        count.value = f"{len(chosen)} of {len(lesions)} lesions"

    for control in (datasets, labels, text):
        control.observe(narrow, names="value")
    return picker, [datasets, labels, text, count]


def toggle(options, description: str, value=None):
    """ipywidgets toggle buttons over a few ``options``."""
    import ipywidgets as widgets

    options = list(options)
    return widgets.ToggleButtons(options=options, value=options[0] if value is None else value,
                                 description=description)


# --------------------------------------------------------------------------- the chapters'
def correlation_explorer(long: pd.DataFrame, root=None, resamples: int = DEFAULT_RESAMPLES,
                         seed: int | None = DEFAULT_SEED, show_static: bool = False) -> None:
    """Switch source, feature and student rule: the correlation with the label, its band and
    its bootstrap interval (chapter 04; :mod:`enhance_utils.stats.correlation`).

    Parameters
    ----------
    long : pandas.DataFrame
        ``annotations.load().long``.
    show_static : bool
        Also draw the first view (ISIC 2017, automated A, the paper's student rule) as plain
        output, what a page without kernel shows (:func:`show`). Only the book build turns it
        on (the chapter's ``static_views``): in a live kernel the view is drawn once, in the
        widget.
    """
    import matplotlib.pyplot as plt
    from IPython.display import display

    from ..data import annotations
    from ..stats import correlation

    by_rule = {rule: annotations.per_lesion(long, student_rule=rule) for rule in STUDENT_RULES}
    lesion_labels = correlation.labels(root)

    def render(scores_of, feature, student_rule):
        row, draws = correlation.bootstrap_view(by_rule[student_rule], lesion_labels,
                                                *scores_of, feature, resamples, seed)
        shown = correlation.interpret(pd.DataFrame([row], columns=correlation.TABLE3_COLUMNS))
        display(shown.assign(student_rule=student_rule if scores_of[1] == "student" else "")
                .round(3))
        correlation.plot_bootstrap(draws, row)
        plt.show()

    options = [(f"{d}: {s}", (d, s)) for d, names in correlation.LABEL_SOURCES.items()
               for s in names]
    controls = {"scores_of": dropdown(options, "scores"),
                "feature": toggle(annotations.FEATURES, "feature"),
                "student_rule": toggle(STUDENT_RULES, "student rule")}
    show(render, controls, show_static)


def roc_explorer(model_preds: pd.DataFrame, show_static: bool = False) -> None:
    """ROC curves per split and model (chapter 07): pick the architecture, one split (or all)
    and a model, drawn beside the baseline, with their test AUCs per split
    (:mod:`enhance_utils.learning.ensembles`).

    Parameters
    ----------
    model_preds : pandas.DataFrame
        Test predictions of the models and ensembles
        (:func:`enhance_utils.learning.ensembles.model_predictions`).
    show_static : bool
        Also draw the first view as plain output, what a page without kernel shows
        (:func:`show`). Only the book build turns it on (the chapter's ``static_views``): in a
        live kernel the view is drawn once, in the widget.
    """
    import matplotlib.pyplot as plt
    from IPython.display import display

    from ..learning import ensembles
    from ..learning.targets import model_order

    if model_preds.empty:
        print("no test predictions in the store yet: nothing to explore")
        return
    models = sorted(set(model_preds.model), key=model_order)
    others = [m for m in models if m != "baseline"] or models

    def render(arch, split, model):
        part = model_preds[model_preds.arch == arch]
        part = part if split == ALL_SPLITS else part[part.split == split]
        shown = list(dict.fromkeys(["baseline", model]))
        ensembles.plot_roc(part, arch, shown, title=f"test ROC, {arch}, {split}")
        plt.show()
        aucs = ensembles.split_aucs(part[part.model.isin(shown)])
        display(aucs.pivot_table(index="split", columns="model", values="auc", sort=False)
                .reindex(columns=shown).round(3))

    controls = {
        "arch": dropdown(dict.fromkeys(model_preds.arch), "architecture"),
        "split": dropdown([ALL_SPLITS, *sorted(set(model_preds.split))], "split"),
        "model": dropdown(others, "model", value="crowdABC" if "crowdABC" in others else None),
    }
    show(render, controls, show_static)


def gradcam_explorer(tables: dict[str, pd.DataFrame], maps: dict[str, dict],
                     show_static: bool = False) -> None:
    """Pick a test lesion, a model and the class explained: the Grad-CAM over the image and
    what the model predicted (chapter 09; :mod:`enhance_utils.learning.explanations`).

    Parameters
    ----------
    tables, maps : dict
        Per class explained (``"abnormal"``, ``"normal"``), the table and the maps that
        :func:`enhance_utils.learning.explanations.compare` returns.
    show_static : bool
        Also draw the first view as plain output, what a page without kernel shows
        (:func:`show`): the first abnormal lesion, with the first model whose map for the first
        class is not empty. Only the book build turns it on (the chapter's ``static_views``):
        in a live kernel the view is drawn once, in the widget.
    """
    import matplotlib.pyplot as plt
    from IPython.display import display

    from ..learning import explanations

    towards, first = next(iter(tables.items()))
    labels = first.drop_duplicates("lesion_id").set_index("lesion_id").label
    lesion = next((i for i in labels.index if labels[i] == 1), labels.index[0])
    models = list(dict.fromkeys(first.model))
    model = next((m for m in models if not maps[towards][(lesion, m)].empty), models[0])

    def render(lesion_id, model, towards):
        table = tables[towards]
        rows = table[(table.lesion_id == lesion_id) & (table.model == model)]
        explanations.plot_lesions(rows, maps[towards], [model])
        plt.show()
        display(rows[explanations.EXPLORER_COLUMNS].round(3))

    lesions = [(f"{i} ({'abnormal' if labels[i] == 1 else 'normal'})", i) for i in labels.index]
    controls = {"lesion_id": dropdown(lesions, "lesion", value=lesion),
                "model": dropdown(models, "model", value=model),
                "towards": toggle(tables, "explains")}
    show(render, controls, show_static)
