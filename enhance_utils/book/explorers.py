"""The chapters' explorers: ipywidgets controls over a view, with a static fallback.

A page of the built book has no kernel behind it: controls there would do nothing. The build
drops the widget state (:func:`enhance_utils.book.build.drop_widget_state`), so a page loads no
widget library and shows no controls; in the build every explorer therefore also draws its first
view as ordinary output (figure and table), which is what the book's HTML shows. The build says
so explicitly: it sets the chapter's parameter ``static_views``
(:func:`enhance_utils.book.build.chapter_parameters`), which the chapter passes on as
``show_static``. In Jupyter(Lab), Colab or Binder (``static_views`` off) the view is drawn once,
inside the widget, whose controls redraw it. The explorers themselves live with the chapter's
logic: :func:`enhance_utils.book.figures.lesion_explorer` (chapter 01), the ABC explorer (03),
:func:`enhance_utils.stats.correlation.explorer` (04),
:func:`enhance_utils.learning.ensembles.roc_explorer` (07) and
:func:`enhance_utils.learning.explanations.explorer` (09).
"""
from __future__ import annotations

from typing import Callable


def show(render: Callable[..., None], controls: dict, show_static: bool = False) -> None:
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
    """
    import ipywidgets as widgets
    from IPython.display import display

    out = widgets.interactive_output(render, controls)
    display(widgets.VBox([widgets.HBox(list(controls.values())), out]))
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


def toggle(options, description: str, value=None):
    """ipywidgets toggle buttons over a few ``options``."""
    import ipywidgets as widgets

    options = list(options)
    return widgets.ToggleButtons(options=options, value=options[0] if value is None else value,
                                 description=description)
