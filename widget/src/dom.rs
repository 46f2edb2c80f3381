//! Building elements. Text goes in only as text nodes or `textContent`: merchant text (carrier names,
//! SKUs, titles) is never parsed as HTML, and each piece of it sits in its own `<bdi>`, so that its
//! direction marks (U+202E, an unmatched U+202B, …) cannot reorder the widget's words around it.

use wasm_bindgen::JsCast;

use crate::action::Action;
use web_sys::{Document, Element, HtmlElement};

/// A piece of text: the widget's own words, or text from the merchant's data (isolated).
#[derive(Clone, Copy, Debug)]
pub enum Part<'a> {
    /// The widget's words.
    Ours(&'a str),
    /// The merchant's text: a carrier name, a title, a SKU, a tracking number.
    Theirs(&'a str),
}

/// Builds elements of one document.
#[derive(Clone)]
pub struct Dom {
    doc: Document,
}

impl Dom {
    /// A builder for `doc`.
    pub const fn new(doc: Document) -> Self {
        Self { doc }
    }

    /// A `<tag class="class">`; an empty class sets none.
    pub fn el(&self, tag: &str, class: &str) -> Element {
        // `createElement` throws only for an invalid name, and every name here is a fixed, valid one.
        let element = self
            .doc
            .create_element(tag)
            .unwrap_or_else(JsCast::unchecked_into);
        if !class.is_empty() {
            element.set_class_name(class);
        }
        element
    }

    /// A `<tag class>` holding `text`.
    pub fn text_el(&self, tag: &str, class: &str, text: &str) -> Element {
        let element = self.el(tag, class);
        element.set_text_content(Some(text));
        element
    }

    /// Replaces `element`'s content with `parts`: ours as text, each of theirs in a `<bdi>`.
    pub fn compose(&self, element: &Element, parts: &[Part<'_>]) {
        clear(element);
        for part in parts {
            match *part {
                Part::Ours(text) => self.append_text(element, text),
                Part::Theirs(text) => append(element, &self.text_el("bdi", "", text)),
            }
        }
    }

    /// A `<tag class>` holding `parts`.
    pub fn parts_el(&self, tag: &str, class: &str, parts: &[Part<'_>]) -> Element {
        let element = self.el(tag, class);
        self.compose(&element, parts);
        element
    }

    /// A `<button type="button">` with `text` and its action.
    pub fn button(&self, class: &str, text: &str, action: Action) -> Element {
        let button = self.text_el("button", class, text);
        set(&button, "type", "button");
        set_action(&button, action);
        button
    }

    /// The element that has focus, if any.
    pub fn active_element(&self) -> Option<Element> {
        self.doc.active_element()
    }

    /// An empty fragment, to build many elements before they enter the page at once.
    pub fn fragment(&self) -> web_sys::DocumentFragment {
        self.doc.create_document_fragment()
    }

    /// Appends a text node.
    pub fn append_text(&self, parent: &Element, text: &str) {
        let _ = parent.append_with_str_1(text);
    }
}

/// A deep copy of `element`.
pub fn deep_clone(element: &Element) -> Element {
    // Cloning an element always answers an element.
    element
        .clone_node_with_deep(true)
        .map_or_else(|_| element.clone(), JsCast::unchecked_into)
}

/// Sets an attribute (names are fixed; values are text).
pub fn set(element: &Element, name: &str, value: &str) {
    let _ = element.set_attribute(name, value);
}

/// Appends `child` to `parent`.
pub fn append(parent: &Element, child: &Element) {
    let _ = parent.append_child(child);
}

/// Removes every child of `element`.
pub fn clear(element: &Element) {
    element.set_text_content(None);
}

/// Focuses an element.
pub fn focus(element: &Element) {
    if let Some(e) = element.dyn_ref::<HtmlElement>() {
        let _ = e.focus();
    }
}

/// The closest element at or above the event's target matching `selector`.
pub fn closest(event: &web_sys::Event, selector: &str) -> Option<Element> {
    event
        .target()?
        .dyn_into::<Element>()
        .ok()?
        .closest(selector)
        .ok()
        .flatten()
}

/// Sets an element's action (its `data-action`).
pub fn set_action(element: &Element, action: Action) {
    set(element, "data-action", action.attr());
}

/// An element's action, if it has one.
pub fn action(element: &Element) -> Option<Action> {
    Action::parse(&element.get_attribute("data-action")?)
}

/// An attribute's value.
pub fn attr(element: &Element, name: &str) -> Option<String> {
    element.get_attribute(name)
}
