//! A small typed builder for delivery URL transformations.

use std::fmt;

/// How an image is fitted to the requested width and height (`c_...`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Crop {
    /// `c_fill`: cover the box, cropping the excess.
    Fill,
    /// `c_fit`: fit inside the box, keeping the aspect ratio.
    Fit,
    /// `c_limit`: like fit, never enlarging.
    Limit,
    /// `c_scale`: scale to exactly the box.
    Scale,
    /// `c_thumb`: a thumbnail (face-aware with a gravity).
    Thumb,
    /// `c_crop`: cut the box out of the original.
    Crop,
    /// `c_pad`: fit and pad to the box.
    Pad,
}

impl Crop {
    fn code(self) -> &'static str {
        match self {
            Crop::Fill => "fill",
            Crop::Fit => "fit",
            Crop::Limit => "limit",
            Crop::Scale => "scale",
            Crop::Thumb => "thumb",
            Crop::Crop => "crop",
            Crop::Pad => "pad",
        }
    }
}

/// A delivery transformation: a resize component (`c_fill,w_300,h_200`)
/// and a delivery component (`f_auto,q_auto`), joined with `/`.
///
/// ```
/// use plugbay_storage::cloudinary::{Crop, Transformation};
///
/// let t = Transformation::new().crop(Crop::Fill).width(300).height(200).format_auto().quality_auto();
/// assert_eq!(t.to_string(), "c_fill,w_300,h_200/f_auto,q_auto");
/// assert!(Transformation::new().is_empty());
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Transformation {
    /// `c_...`
    pub crop: Option<Crop>,
    /// `w_...` in pixels.
    pub width: Option<u32>,
    /// `h_...` in pixels.
    pub height: Option<u32>,
    /// `f_auto`: the best format for the browser.
    pub format_auto: bool,
    /// `q_auto`: automatic quality.
    pub quality_auto: bool,
}

impl Transformation {
    /// No transformation.
    pub fn new() -> Transformation {
        Transformation::default()
    }

    /// Set the crop mode.
    pub fn crop(mut self, crop: Crop) -> Self {
        self.crop = Some(crop);
        self
    }

    /// Set the width.
    pub fn width(mut self, px: u32) -> Self {
        self.width = Some(px);
        self
    }

    /// Set the height.
    pub fn height(mut self, px: u32) -> Self {
        self.height = Some(px);
        self
    }

    /// Add `f_auto`.
    pub fn format_auto(mut self) -> Self {
        self.format_auto = true;
        self
    }

    /// Add `q_auto`.
    pub fn quality_auto(mut self) -> Self {
        self.quality_auto = true;
        self
    }

    /// Whether nothing is set.
    pub fn is_empty(&self) -> bool {
        *self == Transformation::default()
    }
}

impl fmt::Display for Transformation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut resize = Vec::new();
        if let Some(c) = self.crop {
            resize.push(format!("c_{}", c.code()));
        }
        if let Some(w) = self.width {
            resize.push(format!("w_{w}"));
        }
        if let Some(h) = self.height {
            resize.push(format!("h_{h}"));
        }
        let mut delivery = Vec::new();
        if self.format_auto {
            delivery.push("f_auto".to_owned());
        }
        if self.quality_auto {
            delivery.push("q_auto".to_owned());
        }
        let parts: Vec<String> = [resize, delivery]
            .into_iter()
            .filter(|p| !p.is_empty())
            .map(|p| p.join(","))
            .collect();
        f.write_str(&parts.join("/"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn components_render_in_order() {
        assert_eq!(Transformation::new().to_string(), "");
        assert_eq!(Transformation::new().width(80).to_string(), "w_80");
        assert_eq!(
            Transformation::new()
                .crop(Crop::Thumb)
                .height(50)
                .quality_auto()
                .to_string(),
            "c_thumb,h_50/q_auto"
        );
        assert_eq!(Transformation::new().format_auto().to_string(), "f_auto");
    }
}
