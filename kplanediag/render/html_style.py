"""The status page's one stylesheet, inlined into every page (no external file, font or image): status
colours always paired with an icon, a text and a border pattern, and a print layout."""

CSS = """
:root{--ok:#1a7f37;--ok-bg:#e6f4ea;--deg:#9a6700;--deg-bg:#fff4d6;--down:#b42318;--down-bg:#fde8e7;
--unk:#57606a;--unk-bg:#eef0f2;--fg:#1f2328;--muted:#57606a;--line:#d0d7de;--bg:#fff;--card:#f6f8fa}
*{box-sizing:border-box}
body{margin:0;font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;
color:var(--fg);background:var(--bg)}
a{color:#0a58ca}
.skip{position:absolute;left:-999px;top:0;background:#000;color:#fff;padding:.4rem .8rem}
.skip:focus{left:0}
header.top{padding:1rem 1.5rem;border-bottom:4px solid var(--line)}
header.top.st-critical{border-color:var(--down)}header.top.st-warning{border-color:var(--deg)}
header.top.st-healthy{border-color:var(--ok)}
h1{margin:0 0 .3rem;font-size:1.5rem}h2{margin:2rem 0 .6rem;font-size:1.25rem;border-bottom:1px solid var(--line)}
h3{margin:.2rem 0 .4rem;font-size:1.05rem}h4{margin:0;font-size:.95rem}
.nodehead h3{margin:0;font-size:.95rem;word-break:break-all}details.fold{margin:.3rem 0}
#cluster-wide-h{margin-top:1.2rem}
.summary{font-size:1.1rem;font-weight:600;margin:.3rem 0}
dl.meta{display:flex;flex-wrap:wrap;gap:.2rem 1.5rem;margin:.4rem 0 0;color:var(--muted)}
dl.meta div{display:flex;gap:.35rem}dl.meta dt{font-weight:600}dl.meta dd{margin:0}
.banner{margin:1rem 1.5rem 0;padding:.8rem 1rem;border:3px dashed var(--down);background:var(--down-bg);
font-weight:700;font-size:1.05rem}
nav.toc{padding:.4rem 1.5rem;border-bottom:1px solid var(--line)}
nav.toc ul{list-style:none;margin:0;padding:0;display:flex;flex-wrap:wrap;gap:.3rem 1.2rem}
main{padding:0 1.5rem 2rem;max-width:1400px}
.badge{display:inline-block;padding:.05rem .45rem;border-radius:.3rem;border:2px solid;font-weight:700;
font-size:.85rem;white-space:nowrap}
.badge.st-healthy{color:var(--ok);background:var(--ok-bg);border-style:solid}
.badge.st-degraded{color:var(--deg);background:var(--deg-bg);border-style:dashed}
.badge.st-down{color:var(--down);background:var(--down-bg);border-style:double;border-width:3px}
.badge.st-unknown{color:var(--unk);background:var(--unk-bg);border-style:dotted}
tr.sev-critical td:first-child{color:var(--down);font-weight:700}tr.sev-warning td:first-child{color:var(--deg);
font-weight:700}
tr.sev-info td:first-child{color:var(--unk)}
.card{border:2px solid var(--line);border-radius:.5rem;padding:.6rem .8rem;background:var(--card)}
.card.st-down,.node.st-down{border-color:var(--down);border-style:double;border-width:4px;
background:repeating-linear-gradient(135deg,var(--down-bg) 0 8px,#fff 8px 16px)}
.card.st-degraded,.node.st-degraded{border-color:var(--deg);border-style:dashed;background:var(--deg-bg)}
.card.st-unknown,.node.st-unknown{border-color:var(--unk);border-style:dotted;background:var(--unk-bg)}
.card.st-healthy,.node.st-healthy{border-color:var(--ok)}
figure.diagram{margin:0}figure.diagram figcaption{color:var(--muted);margin-bottom:.6rem}
.cp-top{display:flex;justify-content:center}.cp-top>.card{min-width:min(28rem,100%)}
.cp-bus{margin:0 auto;width:2px;height:1.2rem;background:var(--fg)}
.cp-row{display:grid;grid-template-columns:repeat(auto-fit,minmax(15rem,1fr));gap:1rem;
border-top:2px solid var(--fg);padding-top:1rem;position:relative}
.cp-row>.card{position:relative}
.cp-row>.card::before{content:"";position:absolute;top:calc(-1rem - 2px);left:50%;width:2px;height:1rem;
background:var(--fg)}
ul.instances{list-style:none;margin:0;padding:0;display:grid;gap:.35rem}
ul.instances li{border-left:4px solid var(--line);padding:.2rem .5rem;background:#fff}
ul.instances li.st-down{border-left-color:var(--down)}ul.instances li.st-degraded{border-left-color:var(--deg)}
ul.instances li.st-unknown{border-left-color:var(--unk)}ul.instances li.st-healthy{border-left-color:var(--ok)}
.role{font-weight:700}.role.leader{color:#6f42c1}
.detail,.muted{color:var(--muted);font-size:.88rem}
details>summary{cursor:pointer}
.counts{display:flex;flex-wrap:wrap;gap:.5rem;margin:.4rem 0 .8rem;padding:0;list-style:none}
ul.grid{list-style:none;margin:0 0 1rem;padding:0;display:grid;
grid-template-columns:repeat(auto-fill,minmax(15rem,1fr));gap:.7rem}
.node{border:2px solid var(--line);border-radius:.5rem;padding:.5rem .6rem;background:#fff}
.nodehead{display:flex;flex-wrap:wrap;justify-content:space-between;gap:.4rem;align-items:baseline;
margin-bottom:.3rem}
.node dl{display:grid;grid-template-columns:auto 1fr;gap:.1rem .5rem;margin:0;font-size:.88rem}
.node dt{font-weight:600}.node dd{margin:0}
.node dd.st-down{color:var(--down);font-weight:700}.node dd.st-degraded{color:var(--deg);font-weight:700}
.node dd.st-unknown{color:var(--unk)}.node dd.st-healthy{color:var(--ok)}
ul.names{columns:14rem;font-size:.82rem;font-family:ui-monospace,Menlo,Consolas,monospace;padding-left:1.2rem}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(18rem,1fr));gap:.8rem;margin-top:.8rem}
article.blast{border:2px solid var(--down);border-radius:.5rem;padding:.7rem 1rem;margin:.8rem 0}
.impact{display:grid;grid-template-columns:repeat(auto-fit,minmax(16rem,1fr));gap:1rem}
.impact section{border-top:4px solid var(--line);padding-top:.3rem}
.impact .breaks{border-top-color:var(--down)}.impact .degraded{border-top-color:var(--deg);border-top-style:dashed}
.impact .works{border-top-color:var(--ok)}
.impact h4{font-size:.95rem;margin:.2rem 0}.impact ul{margin:.2rem 0;padding-left:1.2rem}
table{border-collapse:collapse;width:100%;margin:.4rem 0;font-size:.9rem}
th,td{border:1px solid var(--line);padding:.3rem .5rem;text-align:left;vertical-align:top}
th{background:var(--card)}caption{text-align:left;font-weight:600;padding:.2rem 0}
dl.explain dt{font-weight:700;margin-top:.6rem}dl.explain dd{margin:.1rem 0 0 1rem}
.explain p{margin:.1rem 0}
footer{padding:1rem 1.5rem;color:var(--muted);border-top:1px solid var(--line);font-size:.85rem}
.visually-hidden{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}
@media print{
 :root{--bg:#fff}body{font-size:10.5pt}nav.toc,.skip{display:none}
 main{max-width:none;padding:0}header.top,footer,.banner{padding-left:0;padding-right:0;margin-left:0}
 .card,.node,article.blast,tr{break-inside:avoid}h2,h3{break-after:avoid}
 details::details-content{content-visibility:visible;display:contents}
 details>summary{list-style:none;font-weight:600}
 *{print-color-adjust:exact;-webkit-print-color-adjust:exact}
 a{color:inherit;text-decoration:none}
}
"""
