//! Writing CSV for downloads. Quoting follows RFC 4180; cells that a spreadsheet would run as a
//! formula are prefixed with `'` so a download can never execute anything.

pub struct Writer {
    out: String,
}

fn cell(v: &str) -> String {
    let v = if v.starts_with(['=', '+', '-', '@', '\t', '\r']) && v.parse::<f64>().is_err() {
        format!("'{v}")
    } else {
        v.to_owned()
    };
    if v.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", v.replace('"', "\"\""))
    } else {
        v
    }
}

impl Writer {
    pub fn new(header: &[&str]) -> Self {
        let mut w = Self { out: String::new() };
        w.row(header);
        w
    }

    pub fn row<S: AsRef<str>>(&mut self, cells: &[S]) {
        let line: Vec<String> = cells.iter().map(|c| cell(c.as_ref())).collect();
        self.out.push_str(&line.join(","));
        self.out.push_str("\r\n");
    }

    pub fn finish(self) -> String {
        self.out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_are_quoted_and_formulas_defused() {
        let mut w = Writer::new(&["a", "b"]);
        w.row(&["x,y", "say \"hi\""]);
        w.row(&["=1+1", "-3"]);
        w.row(&["line\nbreak", "@cmd"]);
        assert_eq!(
            w.finish(),
            "a,b\r\n\"x,y\",\"say \"\"hi\"\"\"\r\n'=1+1,-3\r\nline\nbreak,'@cmd\r\n"
                .replace("line\nbreak", "\"line\nbreak\"")
        );
    }
}
