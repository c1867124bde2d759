//! Every example query in the README runs without error, so the documentation cannot rot.

use stagesql_tests::TestServer;

fn readme_examples() -> Vec<String> {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md"))
        .expect("README.md");
    let start = readme
        .find("### Example queries")
        .expect("examples section");
    let block = &readme[start..];
    let open = block.find("```sql").expect("sql block") + "```sql".len();
    let close = open + block[open..].find("```").expect("end of block");
    block[open..close]
        .split(';')
        .map(|s| {
            s.lines()
                .filter(|l| !l.trim_start().starts_with("--"))
                .collect::<Vec<_>>()
                .join("\n")
        })
        .filter(|s| !s.trim().is_empty())
        .collect()
}

#[tokio::test]
async fn every_readme_example_runs() {
    let server = TestServer::start().await;
    let client = server.client().await;
    let examples = readme_examples();
    assert!(examples.len() >= 10, "found {} examples", examples.len());
    for sql in examples {
        let rows = client
            .simple_query(&sql)
            .await
            .unwrap_or_else(|e| panic!("README example failed: {sql}\n{e:?}"));
        let returned = rows
            .iter()
            .filter(|m| matches!(m, tokio_postgres::SimpleQueryMessage::Row(_)))
            .count();
        assert!(
            returned > 0,
            "README example returns no rows on the demo data: {sql}"
        );
    }
}
