#!/usr/bin/env bash
# chart.sh RESULTS.tsv OUT.png: swiftlet/Swift ratio per workload (log scale,
# goals marked) and p99 latency of both on the small-object workloads.
set -euo pipefail
res=$1 png=$2
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
awk -F'\t' 'NR>1 && ($2=="swift" || $2=="swiftlet") {v[$1,$2]=$3; p99[$1,$2]=$7; p50[$1,$2]=$6; if (!($1 in seen)) {seen[$1]=1; order[++n]=$1}}
  END {
    for (i=1;i<=n;i++) { w=order[i]; if (v[w,"swift"]+0 > 0 && v[w,"swiftlet"] != "") {
      goal = (w=="get4k") ? 30 : (w ~ /^put2/) ? 1.5 : (w ~ /^get2/) ? 2.5 : 0
      printf "%s\t%.3f\t%s\n", w, v[w,"swiftlet"]/v[w,"swift"], goal > "'"$tmp"'/ratio.dat" }
      if (w ~ /4k$|^head|^mix$|^list/ && p99[w,"swift"] != "") printf "%s\t%s\t%s\t%s\t%s\n", w, p50[w,"swiftlet"], p99[w,"swiftlet"], p50[w,"swift"], p99[w,"swift"] > "'"$tmp"'/lat.dat" }
  }' "$res"
[ -s "$tmp/ratio.dat" ] || { echo "chart: no workload measured on both systems in $res" >&2; exit 0; }
[ -s "$tmp/lat.dat" ] || printf 'none\t1\t1\t1\t1\n' >"$tmp/lat.dat"
gnuplot <<GP
set terminal pngcairo size 1200,520 font "DejaVu Sans,10"
set output "$png"
set multiplot layout 1,2 title "swiftlet vs OpenStack Swift 2.38.3, 4 nodes x 3 replicas on one XFS, 2 vCPU (bench/cluster.sh)"
set style data histograms
set style fill solid 0.8 border -1
set boxwidth 0.8
set logscale y
set grid ytics
set xtics rotate by -30
set ylabel "swiftlet / Swift (higher is better; log scale)"
set title "throughput ratio (x = goal of issue 8)"
set yrange [0.1:*]
plot "$tmp/ratio.dat" using 2:xtic(1) title "swiftlet/Swift" lc rgb "#2b7bba", \
     "" using (\$0):(\$3 > 0 ? \$3 : 1/0) with points pt 2 ps 2 lw 2 lc rgb "#d62728" title "goal", \
     1 with lines dt 2 lc rgb "black" notitle
set title "latency, small objects (ms, log scale; lower is better)"
set ylabel "ms"
set yrange [*:*]
set style histogram clustered gap 1
plot "$tmp/lat.dat" using 3:xtic(1) title "swiftlet p99" lc rgb "#2b7bba", \
     "" using 2 title "swiftlet p50" lc rgb "#9ecae1", \
     "" using 5 title "Swift p99" lc rgb "#d62728", \
     "" using 4 title "Swift p50" lc rgb "#fcae91"
unset multiplot
GP
echo "chart: $png"
