//! Route matching throughput on a 1,000-route table (the shape the platform's functions use:
//! literal prefixes, parameters, `*` tails and a `/*` default).

use af_akash::routes::RouteTable;
use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};

fn table() -> RouteTable<usize> {
    let mut routes = Vec::new();
    for i in 0..1000 {
        let p = match i % 4 {
            0 => format!("/api/svc{i}/*"),
            1 => format!("/api/svc{i}/:id"),
            2 => format!("/v1/org{i}/:org/items/:item"),
            _ => format!("/static/s{i}/index.html"),
        };
        routes.push((p, i));
    }
    routes.pop();
    routes.push(("/*".to_string(), 999));
    RouteTable::new(routes).expect("a valid table")
}

fn bench(c: &mut Criterion) {
    let t = table();
    let paths: Vec<String> = (0..1000)
        .map(|i| match i % 5 {
            0 => format!("/api/svc{}/a/b/c", (i / 4) * 4),
            1 => format!("/api/svc{}/42", (i / 4) * 4 + 1),
            2 => format!("/v1/org{}/acme/items/7", (i / 4) * 4 + 2),
            3 => format!("/static/s{}/index.html", (i / 4) * 4 + 3),
            _ => format!("/nowhere/{i}"),
        })
        .collect();
    let mut g = c.benchmark_group("routes");
    g.throughput(Throughput::Elements(paths.len() as u64));
    g.bench_function("match_1000_paths_on_1000_routes", |b| {
        b.iter(|| {
            let mut hits = 0usize;
            for p in &paths {
                if t.find(black_box(p)).is_some() {
                    hits += 1;
                }
            }
            hits
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
