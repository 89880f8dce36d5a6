//! The coarse categories a group picks for its profile. These are the only descriptions of a
//! group that may ever leave its instance, so every value comes from a fixed list.

/// (slug, label) pairs. Slugs are stored and federated; labels are shown.
pub const REGIONS: [(&str, &str); 13] = [
    ("uk-north-east", "North East (England)"),
    ("uk-north-west", "North West (England)"),
    ("uk-yorkshire-humber", "Yorkshire and The Humber"),
    ("uk-east-midlands", "East Midlands (England)"),
    ("uk-west-midlands", "West Midlands (England)"),
    ("uk-east", "East of England"),
    ("uk-london", "London"),
    ("uk-south-east", "South East (England)"),
    ("uk-south-west", "South West (England)"),
    ("uk-wales", "Wales"),
    ("uk-scotland", "Scotland"),
    ("uk-northern-ireland", "Northern Ireland"),
    ("outside-uk", "Outside the UK"),
];

pub const FOCUSES: [(&str, &str); 14] = [
    ("peer-support", "Peer support"),
    ("survivor-led", "Survivor-led"),
    ("black-minoritised", "Black and minoritised communities"),
    ("lgbtq", "LGBTQ+ people"),
    ("young-people", "Young people"),
    ("older-people", "Older people"),
    ("women", "Women"),
    ("men", "Men"),
    (
        "disabled-neurodivergent",
        "Disabled and neurodivergent people",
    ),
    ("refugees-migrants", "Refugees and migrants"),
    ("rural", "Rural communities"),
    ("faith", "Faith communities"),
    ("arts-creative", "Arts and creative"),
    ("hearing-voices", "Hearing voices"),
];

pub const SIZE_BANDS: [(&str, &str); 5] = [
    ("1-5", "1 to 5 people"),
    ("6-10", "6 to 10 people"),
    ("11-25", "11 to 25 people"),
    ("26-50", "26 to 50 people"),
    ("51-plus", "51 or more people"),
];

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{what} {value:?} is not one of the listed choices")]
pub struct NotAChoice {
    pub what: &'static str,
    pub value: String,
}

fn pick(
    list: &[(&'static str, &'static str)],
    what: &'static str,
    value: &str,
) -> Result<&'static str, NotAChoice> {
    list.iter()
        .find(|(slug, _)| *slug == value)
        .map(|(slug, _)| *slug)
        .ok_or_else(|| NotAChoice {
            what,
            value: value.to_owned(),
        })
}

pub fn label(list: &[(&'static str, &'static str)], slug: &str) -> Option<&'static str> {
    list.iter().find(|(s, _)| *s == slug).map(|(_, l)| *l)
}

/// A group's chosen profile; every field is optional until the group chooses.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Profile {
    pub region: Option<&'static str>,
    pub focuses: Vec<&'static str>,
    pub size_band: Option<&'static str>,
}

impl Profile {
    /// Parses submitted slugs; an empty region or size band means "not chosen".
    pub fn parse(region: &str, focuses: &[String], size_band: &str) -> Result<Self, NotAChoice> {
        let region = (!region.is_empty())
            .then(|| pick(&REGIONS, "region", region))
            .transpose()?;
        let size_band = (!size_band.is_empty())
            .then(|| pick(&SIZE_BANDS, "size band", size_band))
            .transpose()?;
        let mut chosen = Vec::new();
        for f in focuses {
            let slug = pick(&FOCUSES, "community focus", f)?;
            if !chosen.contains(&slug) {
                chosen.push(slug);
            }
        }
        // Keep the list's order so the stored profile does not depend on form order.
        chosen.sort_by_key(|s| FOCUSES.iter().position(|(f, _)| f == s));
        Ok(Self {
            region,
            focuses: chosen,
            size_band,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profiles_accept_only_listed_choices() {
        let p = Profile::parse(
            "uk-london",
            &["women".into(), "peer-support".into(), "women".into()],
            "6-10",
        )
        .unwrap();
        assert_eq!(p.region, Some("uk-london"));
        assert_eq!(p.focuses, vec!["peer-support", "women"]);
        assert_eq!(p.size_band, Some("6-10"));
        assert_eq!(Profile::parse("", &[], "").unwrap(), Profile::default());
        assert!(Profile::parse("atlantis", &[], "").is_err());
        assert!(Profile::parse("", &["<script>".into()], "").is_err());
        assert!(Profile::parse("", &[], "7").is_err());
        assert_eq!(label(&REGIONS, "uk-wales"), Some("Wales"));
    }
}
