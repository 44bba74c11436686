//! Every relative link of the README and of docs/ leads somewhere: the file exists, and an
//! anchor (`page.md#section`) names a heading of that page as GitHub renders it. The README
//! is a front door whose depth lives in docs/, so a renamed heading or a moved page must fail
//! here rather than leave a reader at a dead link. Links to other sites are not followed.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// The pages checked: the README and every Markdown file under docs/.
fn pages(root: &Path) -> Vec<PathBuf> {
    let mut pages = vec![root.join("README.md")];
    let mut folders = vec![root.join("docs")];
    while let Some(folder) = folders.pop() {
        let entries = std::fs::read_dir(&folder).expect("docs/ is readable");
        for entry in entries {
            let path = entry.expect("a directory entry").path();
            if path.is_dir() {
                folders.push(path);
            } else if path.extension().is_some_and(|ext| ext == "md") {
                pages.push(path);
            }
        }
    }
    pages.sort();
    pages
}

/// The page's lines with fenced code blocks blanked and inline code removed, so that `[x](y)`
/// shown as code is not taken for a link.
fn prose_lines(text: &str) -> Vec<String> {
    let mut in_fence = false;
    let mut lines = Vec::new();
    for line in text.lines() {
        let fence = line.trim_start().starts_with("```");
        if fence {
            in_fence = !in_fence;
        }
        if fence || in_fence {
            // Kept as an empty line, so that line numbers stay the page's.
            lines.push(String::new());
            continue;
        }
        let mut prose = String::new();
        for (index, part) in line.split('`').enumerate() {
            if index % 2 == 0 {
                prose.push_str(part);
            }
        }
        lines.push(prose);
    }
    lines
}

/// The targets of `[text](target)` and `![alt](target)` links.
fn link_targets(line: &str) -> Vec<String> {
    let mut targets = Vec::new();
    let mut rest = line;
    while let Some(start) = rest.find("](") {
        let after = &rest[start + 2..];
        let Some(end) = after.find(')') else { break };
        targets.push(after[..end].trim().to_string());
        rest = &after[end..];
    }
    targets
}

/// GitHub's anchor for a heading: lower case, punctuation dropped, spaces as hyphens.
fn slug(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter(|c| c.is_alphanumeric() || *c == ' ' || *c == '-' || *c == '_')
        .map(|c| if c == ' ' { '-' } else { c })
        .collect()
}

/// The anchors a page's headings get, a repeated heading numbered as GitHub numbers it.
fn anchors(text: &str) -> BTreeSet<String> {
    let mut anchors = BTreeSet::new();
    let mut in_fence = false;
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            in_fence = !in_fence;
            continue;
        }
        let Some(heading) = line.strip_prefix('#') else {
            continue;
        };
        if in_fence {
            continue;
        }
        let heading = heading.trim_start_matches('#');
        if !heading.starts_with(' ') {
            continue;
        }
        let base = slug(&heading.replace('`', ""));
        let mut anchor = base.clone();
        let mut n = 0;
        while anchors.contains(&anchor) {
            n += 1;
            anchor = format!("{base}-{n}");
        }
        anchors.insert(anchor);
    }
    anchors
}

/// What is wrong with one link of `page`, if anything.
fn broken(page: &Path, target: &str) -> Option<String> {
    let external = ["http://", "https://", "mailto:"];
    if external.iter().any(|scheme| target.starts_with(scheme)) {
        return None;
    }
    let (file, anchor) = match target.split_once('#') {
        Some((file, anchor)) => (file, Some(anchor)),
        None => (target, None),
    };
    let folder = page.parent().expect("a page is in a folder");
    let linked = if file.is_empty() {
        page.to_path_buf()
    } else {
        folder.join(file)
    };
    if !linked.exists() {
        return Some(format!("{target}: no such file"));
    }
    let anchor = anchor?;
    if linked.is_dir() {
        return Some(format!("{target}: an anchor into a folder"));
    }
    let text = std::fs::read_to_string(&linked).expect("a linked page is readable");
    (!anchors(&text).contains(anchor)).then(|| format!("{target}: no heading with this anchor"))
}

#[test]
fn every_relative_link_and_anchor_of_the_readme_and_docs_resolves() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut problems = Vec::new();
    let mut links = 0;
    for page in pages(root) {
        let text = std::fs::read_to_string(&page).expect("a page is readable");
        for (number, line) in prose_lines(&text).iter().enumerate() {
            for target in link_targets(line) {
                links += 1;
                if let Some(problem) = broken(&page, &target) {
                    let name = page.strip_prefix(root).unwrap_or(&page).display();
                    problems.push(format!("{name}:{}: {problem}", number + 1));
                }
            }
        }
    }
    assert!(
        links > 50,
        "only {links} links found: is the parser still right?"
    );
    assert!(
        problems.is_empty(),
        "broken links:\n{}",
        problems.join("\n")
    );
}

#[test]
fn anchors_are_made_as_github_makes_them() {
    let page = "# Auditing and support\n## What it costs\n## SQLite, old and new (2026-12-06)\n\
                ```\n# not a heading\n```\n## Limits\n## Limits\n## `serve` settings\n";
    let made = anchors(page);
    let expected = [
        "auditing-and-support",
        "what-it-costs",
        "sqlite-old-and-new-2026-12-06",
        "limits",
        "limits-1",
        "serve-settings",
    ];
    assert_eq!(
        made,
        expected
            .iter()
            .map(ToString::to_string)
            .collect::<BTreeSet<_>>()
    );
}

#[test]
fn links_in_code_are_not_links() {
    let text = "see [a](a.md) and `[b](b.md)`\n```\n[c](c.md)\n```\n![d](d.png)";
    let found: Vec<String> = prose_lines(text)
        .iter()
        .flat_map(|line| link_targets(line))
        .collect();
    assert_eq!(found, ["a.md", "d.png"]);
}
