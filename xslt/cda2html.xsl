<?xml version="1.0" encoding="UTF-8"?>
<!--
  cda2html.xsl: cdagate's CDA R2 / C-CDA to HTML renderer (XSLT 1.0 + EXSLT, run by libxslt).

  Safe by construction: nothing from the document is ever copied as markup. Every element of
  the output is written by a template below; every text and attribute value goes through the
  serializer's escaping (never disable-output-escaping). Links keep only allow-listed schemes
  (relative, #, http, https, mailto, tel) after control and space characters are stripped and
  the scheme lower-cased; anything else is shown as inert text. No event attributes, no style
  attributes, no remote images; embedded content only for allow-listed media types, as data:
  URLs built here, PDFs in a sandboxed frame without scripts. docs/rendering.md says more.

  Parameters:
    lang          label language (en, fr, de); empty: the document's languageCode, else en
    mask-ids      'true' hides all but the last 4 characters of patient identifiers
    css-nonce     nonce for the inline <style> element (HTTP views send a CSP with it)
  Referenced (non-embedded) images are never loaded: they are shown as links, when allowed.
-->
<xsl:stylesheet version="1.0"
    xmlns:xsl="http://www.w3.org/1999/XSL/Transform"
    xmlns:cda="urn:hl7-org:v3"
    xmlns:sdtc="urn:hl7-org:sdtc"
    xmlns:exsl="http://exslt.org/common"
    xmlns:str="http://exslt.org/strings"
    xmlns:cg="urn:cdagate:render"
    extension-element-prefixes="exsl str"
    exclude-result-prefixes="cda sdtc exsl str cg">

  <xsl:output method="html" encoding="UTF-8" indent="no" doctype-system="about:legacy-compat"/>
  <xsl:strip-space elements="cda:ClinicalDocument cda:recordTarget cda:patientRole cda:patient cda:author cda:assignedAuthor cda:custodian cda:component cda:structuredBody cda:section"/>

  <xsl:param name="lang" select="''"/>
  <xsl:param name="mask-ids" select="'false'"/>
  <xsl:param name="css-nonce" select="''"/>

  <xsl:key name="media" match="cda:observationMedia" use="@ID"/>

  <!-- ==== labels: the one place for every word the page shows ============================== -->
  <xsl:variable name="labels-rtf">
    <l k="document">Document</l><l k="document" x="fr">Document</l><l k="document" x="de">Dokument</l>
    <l k="untitled">Clinical document</l><l k="untitled" x="fr">Document clinique</l><l k="untitled" x="de">Klinisches Dokument</l>
    <l k="contents">Contents</l><l k="contents" x="fr">Sommaire</l><l k="contents" x="de">Inhalt</l>
    <l k="id">Identifier</l><l k="id" x="fr">Identifiant</l><l k="id" x="de">Kennung</l>
    <l k="type">Type</l><l k="type" x="fr">Type</l><l k="type" x="de">Typ</l>
    <l k="created">Created</l><l k="created" x="fr">Créé le</l><l k="created" x="de">Erstellt</l>
    <l k="confidentiality">Confidentiality</l><l k="confidentiality" x="fr">Confidentialité</l><l k="confidentiality" x="de">Vertraulichkeit</l>
    <l k="language">Language</l><l k="language" x="fr">Langue</l><l k="language" x="de">Sprache</l>
    <l k="set">Set id, version</l><l k="set" x="fr">Jeu, version</l><l k="set" x="de">Set-ID, Version</l>
    <l k="patient">Patient</l><l k="patient" x="fr">Patient</l><l k="patient" x="de">Patient</l>
    <l k="name">Name</l><l k="name" x="fr">Nom</l><l k="name" x="de">Name</l>
    <l k="ids">Identifiers</l><l k="ids" x="fr">Identifiants</l><l k="ids" x="de">Kennungen</l>
    <l k="birth">Date of birth</l><l k="birth" x="fr">Date de naissance</l><l k="birth" x="de">Geburtsdatum</l>
    <l k="age">age</l><l k="age" x="fr">âge</l><l k="age" x="de">Alter</l>
    <l k="years">years</l><l k="years" x="fr">ans</l><l k="years" x="de">Jahre</l>
    <l k="deceased">Deceased</l><l k="deceased" x="fr">Décédé</l><l k="deceased" x="de">Verstorben</l>
    <l k="gender">Gender</l><l k="gender" x="fr">Sexe</l><l k="gender" x="de">Geschlecht</l>
    <l k="race">Race</l><l k="race" x="fr">Origine</l><l k="race" x="de">Herkunft</l>
    <l k="ethnicity">Ethnicity</l><l k="ethnicity" x="fr">Ethnicité</l><l k="ethnicity" x="de">Ethnie</l>
    <l k="marital">Marital status</l><l k="marital" x="fr">Situation familiale</l><l k="marital" x="de">Familienstand</l>
    <l k="religion">Religion</l>
    <l k="address">Address</l><l k="address" x="fr">Adresse</l><l k="address" x="de">Adresse</l>
    <l k="contact">Contact</l><l k="contact" x="fr">Contact</l><l k="contact" x="de">Kontakt</l>
    <l k="guardian">Guardian</l><l k="guardian" x="fr">Tuteur</l><l k="guardian" x="de">Vormund</l>
    <l k="provider">Provider organization</l><l k="provider" x="fr">Établissement</l><l k="provider" x="de">Einrichtung</l>
    <l k="author">Author</l><l k="author" x="fr">Auteur</l><l k="author" x="de">Autor</l>
    <l k="encounter">Encounter</l><l k="encounter" x="fr">Rencontre</l><l k="encounter" x="de">Begegnung</l>
    <l k="period">Period</l><l k="period" x="fr">Période</l><l k="period" x="de">Zeitraum</l>
    <l k="location">Location</l><l k="location" x="fr">Lieu</l><l k="location" x="de">Ort</l>
    <l k="responsible">Responsible party</l><l k="responsible" x="fr">Responsable</l><l k="responsible" x="de">Verantwortlich</l>
    <l k="encounterParticipant">Encounter participant</l><l k="encounterParticipant" x="fr">Participant</l><l k="encounterParticipant" x="de">Beteiligt</l>
    <l k="disposition">Discharge disposition</l><l k="disposition" x="fr">Devenir</l><l k="disposition" x="de">Entlassungsart</l>
    <l k="serviceEvent">Documented service</l><l k="serviceEvent" x="fr">Acte documenté</l><l k="serviceEvent" x="de">Dokumentierte Leistung</l>
    <l k="performer">Performer</l><l k="performer" x="fr">Exécutant</l><l k="performer" x="de">Durchführend</l>
    <l k="order">In fulfillment of</l><l k="order" x="fr">En réponse à</l><l k="order" x="de">Auftrag</l>
    <l k="custodian">Custodian</l><l k="custodian" x="fr">Dépositaire</l><l k="custodian" x="de">Verwahrer</l>
    <l k="dataEnterer">Data enterer</l><l k="dataEnterer" x="fr">Saisie</l><l k="dataEnterer" x="de">Erfasst von</l>
    <l k="recipient">Recipient</l><l k="recipient" x="fr">Destinataire</l><l k="recipient" x="de">Empfänger</l>
    <l k="legalAuthenticator">Legal authenticator</l><l k="legalAuthenticator" x="fr">Signataire</l><l k="legalAuthenticator" x="de">Rechtlich verantwortlich</l>
    <l k="authenticator">Authenticator</l><l k="authenticator" x="fr">Authentificateur</l><l k="authenticator" x="de">Beglaubigt von</l>
    <l k="signed">signed</l><l k="signed" x="fr">signé</l><l k="signed" x="de">unterschrieben</l>
    <l k="informant">Informant</l><l k="informant" x="fr">Informateur</l><l k="informant" x="de">Informant</l>
    <l k="participant">Participant</l><l k="participant" x="fr">Participant</l><l k="participant" x="de">Beteiligter</l>
    <l k="consent">Authorization</l><l k="consent" x="fr">Consentement</l><l k="consent" x="de">Einwilligung</l>
    <l k="related">Related document</l><l k="related" x="fr">Document lié</l><l k="related" x="de">Verwandtes Dokument</l>
    <l k="RPLC">replaces</l><l k="RPLC" x="fr">remplace</l><l k="RPLC" x="de">ersetzt</l>
    <l k="APND">appends to</l><l k="APND" x="fr">complète</l><l k="APND" x="de">ergänzt</l>
    <l k="XFRM">transformed from</l><l k="XFRM" x="fr">transformé de</l><l k="XFRM" x="de">umgewandelt aus</l>
    <l k="section-author">Section author</l><l k="section-author" x="fr">Auteur de la section</l><l k="section-author" x="de">Autor des Abschnitts</l>
    <l k="footnotes">Notes</l><l k="footnotes" x="fr">Notes</l><l k="footnotes" x="de">Fußnoten</l>
    <l k="unsafe-link">address not shown: not an allowed link</l><l k="unsafe-link" x="fr">adresse masquée : lien non autorisé</l><l k="unsafe-link" x="de">Adresse nicht angezeigt: kein erlaubter Link</l>
    <l k="not-shown">Embedded content not shown; media type</l><l k="not-shown" x="fr">Contenu intégré non affiché ; type</l><l k="not-shown" x="de">Eingebetteter Inhalt nicht angezeigt; Medientyp</l>
    <l k="missing-media">Referenced multimedia not found</l><l k="missing-media" x="fr">Multimédia référencé introuvable</l><l k="missing-media" x="de">Referenziertes Medium nicht gefunden</l>
    <l k="conf-N">normal</l><l k="conf-N" x="fr">normale</l><l k="conf-N" x="de">normal</l>
    <l k="conf-R">restricted</l><l k="conf-R" x="fr">restreinte</l><l k="conf-R" x="de">eingeschränkt</l>
    <l k="conf-V">very restricted</l><l k="conf-V" x="fr">très restreinte</l><l k="conf-V" x="de">streng eingeschränkt</l>
    <l k="ep-ADM">admitting</l><l k="ep-ADM" x="fr">admission</l><l k="ep-ADM" x="de">aufnehmend</l>
    <l k="ep-ATND">attending</l><l k="ep-ATND" x="fr">traitant</l><l k="ep-ATND" x="de">behandelnd</l>
    <l k="ep-CON">consultant</l><l k="ep-CON" x="fr">consultant</l><l k="ep-CON" x="de">konsiliarisch</l>
    <l k="ep-DIS">discharging</l><l k="ep-DIS" x="fr">sortie</l><l k="ep-DIS" x="de">entlassend</l>
    <l k="ep-REF">referring</l><l k="ep-REF" x="fr">adressant</l><l k="ep-REF" x="de">überweisend</l>
    <l k="unknown">unknown</l><l k="unknown" x="fr">inconnu</l><l k="unknown" x="de">unbekannt</l>
    <l k="HP">home</l><l k="HP" x="fr">domicile</l><l k="HP" x="de">privat</l>
    <l k="WP">work</l><l k="WP" x="fr">travail</l><l k="WP" x="de">dienstlich</l>
    <l k="MC">mobile</l><l k="MC" x="fr">mobile</l><l k="MC" x="de">mobil</l>
    <l k="m01">Jan</l><l k="m02">Feb</l><l k="m03">Mar</l><l k="m04">Apr</l><l k="m05">May</l><l k="m06">Jun</l>
    <l k="m07">Jul</l><l k="m08">Aug</l><l k="m09">Sep</l><l k="m10">Oct</l><l k="m11">Nov</l><l k="m12">Dec</l>
    <l k="m01" x="fr">janv.</l><l k="m02" x="fr">févr.</l><l k="m03" x="fr">mars</l><l k="m04" x="fr">avr.</l><l k="m05" x="fr">mai</l><l k="m06" x="fr">juin</l>
    <l k="m07" x="fr">juil.</l><l k="m08" x="fr">août</l><l k="m09" x="fr">sept.</l><l k="m10" x="fr">oct.</l><l k="m11" x="fr">nov.</l><l k="m12" x="fr">déc.</l>
    <l k="m03" x="de">März</l><l k="m05" x="de">Mai</l><l k="m06" x="de">Juni</l><l k="m07" x="de">Juli</l><l k="m10" x="de">Okt.</l><l k="m12" x="de">Dez.</l>
  </xsl:variable>
  <xsl:variable name="labels" select="exsl:node-set($labels-rtf)/l"/>
  <xsl:variable name="doc-lang" select="translate(substring-before(concat(/cda:ClinicalDocument/cda:languageCode/@code, '-'), '-'), 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz')"/>
  <xsl:variable name="L">
    <xsl:choose>
      <xsl:when test="$lang != '' and $labels[@x = $lang]"><xsl:value-of select="$lang"/></xsl:when>
      <xsl:when test="$lang = '' and $doc-lang != '' and $labels[@x = $doc-lang]"><xsl:value-of select="$doc-lang"/></xsl:when>
      <xsl:otherwise>en</xsl:otherwise>
    </xsl:choose>
  </xsl:variable>

  <xsl:template name="label">
    <xsl:param name="k"/>
    <xsl:variable name="own" select="$labels[@k = $k and @x = $L]"/>
    <xsl:choose>
      <xsl:when test="$own"><xsl:value-of select="$own[1]"/></xsl:when>
      <xsl:otherwise><xsl:value-of select="$labels[@k = $k and not(@x)][1]"/></xsl:otherwise>
    </xsl:choose>
  </xsl:template>

  <!-- ==== constants ======================================================================== -->
  <xsl:variable name="UPPER" select="'ABCDEFGHIJKLMNOPQRSTUVWXYZ'"/>
  <xsl:variable name="lower" select="'abcdefghijklmnopqrstuvwxyz'"/>
  <!-- Stripped from URLs before the scheme is read: what browsers ignore or strip. -->
  <xsl:variable name="url-strip" select="' &#9;&#10;&#13;&#127;&#128;&#129;&#130;&#131;&#132;&#133;&#134;&#135;&#136;&#137;&#138;&#139;&#140;&#141;&#142;&#143;&#144;&#145;&#146;&#147;&#148;&#149;&#150;&#151;&#152;&#153;&#154;&#155;&#156;&#157;&#158;&#159;&#160;&#x200B;&#x200C;&#x200D;&#x2028;&#x2029;&#xFEFF;'"/>
  <xsl:variable name="b64-ws" select="' &#9;&#10;&#13;'"/>
  <xsl:variable name="b64-alphabet" select="'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/='"/>
  <xsl:variable name="stars" select="'****************************************************************'"/>
  <xsl:variable name="doc-time" select="/cda:ClinicalDocument/cda:effectiveTime/@value"/>

  <!-- ==== the page ========================================================================== -->
  <xsl:template match="/">
    <xsl:choose>
      <xsl:when test="cda:ClinicalDocument"><xsl:apply-templates select="cda:ClinicalDocument"/></xsl:when>
      <xsl:otherwise>
        <html lang="en"><head><title>Not a CDA document</title></head>
          <body><p>Not a CDA document.</p></body></html>
      </xsl:otherwise>
    </xsl:choose>
  </xsl:template>

  <xsl:template match="cda:ClinicalDocument">
    <xsl:variable name="title">
      <xsl:choose>
        <xsl:when test="normalize-space(cda:title) != ''"><xsl:value-of select="normalize-space(cda:title)"/></xsl:when>
        <xsl:when test="cda:code/@displayName"><xsl:value-of select="cda:code/@displayName"/></xsl:when>
        <xsl:otherwise><xsl:call-template name="label"><xsl:with-param name="k" select="'untitled'"/></xsl:call-template></xsl:otherwise>
      </xsl:choose>
    </xsl:variable>
    <html lang="{$L}">
      <head>
        <meta name="viewport" content="width=device-width, initial-scale=1"/>
        <meta name="referrer" content="no-referrer"/>
        <title><xsl:value-of select="$title"/></title>
        <xsl:call-template name="css"/>
      </head>
      <body>
        <header class="cg-header">
          <h1 id="cg-top"><xsl:value-of select="$title"/></h1>
          <xsl:call-template name="header"/>
        </header>
        <main>
          <xsl:apply-templates select="cda:component/cda:structuredBody | cda:component/cda:nonXMLBody"/>
        </main>
      </body>
    </html>
  </xsl:template>

  <xsl:template name="css">
    <style>
      <xsl:if test="$css-nonce != ''"><xsl:attribute name="nonce"><xsl:value-of select="$css-nonce"/></xsl:attribute></xsl:if>
      <xsl:text>
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,Arial,sans-serif;color:#1a1a1a;background:#fff;margin:0 auto;max-width:72em;padding:0 1.2em 3em}
h1{font-size:1.6em;margin:.8em 0 .4em}h2{font-size:1.3em;border-bottom:2px solid #35608a;padding-bottom:.15em;margin-top:1.4em}
h3{font-size:1.12em}h4,h5,h6{font-size:1em}
.cg-header{border-bottom:3px double #35608a;padding-bottom:.5em}
.cg-block{display:inline-block;vertical-align:top;min-width:18em;max-width:34em;margin:0 1.5em .6em 0}
.cg-block h2{font-size:1.05em;border:0;margin:.6em 0 .2em;color:#35608a}
dl.cg-dl{display:grid;grid-template-columns:max-content 1fr;gap:.1em .8em;margin:0}
dl.cg-dl dt{font-weight:600;color:#444}dl.cg-dl dd{margin:0}
.cg-party{margin:0 0 .3em}.cg-muted{color:#555;font-size:.92em}
nav.cg-toc{background:#f3f6f9;border:1px solid #d5dee8;padding:.3em 1em;margin:1em 0}
nav.cg-toc ol{margin:.2em 0;padding-left:1.4em}
section.cg-section{margin-left:0}section.cg-section section.cg-section{margin-left:1em}
.cg-section-author{color:#555;font-size:.9em;margin:.2em 0}
table.cg-table{border-collapse:collapse;margin:.5em 0;max-width:100%}
table.cg-table th,table.cg-table td{border:1px solid #b8c4d0;padding:.25em .45em;text-align:left;vertical-align:top}
table.cg-table th{background:#e8eef4}table.cg-table caption{font-weight:600;text-align:left;padding:.2em 0}
.cg-caption{font-weight:600;display:block}
.cg-s-bold{font-weight:bold}.cg-s-underline{text-decoration:underline}.cg-s-italics{font-style:italic}
.cg-s-emphasis{font-style:italic;font-weight:600}
.cg-s-lrule{border-left:1px solid #333}.cg-s-rrule{border-right:1px solid #333}
.cg-s-toprule{border-top:1px solid #333}.cg-s-botrule{border-bottom:1px solid #333}
ul.cg-s-circle{list-style-type:circle}ul.cg-s-square{list-style-type:square}ul.cg-s-disc{list-style-type:disc}
ol.cg-s-arabic{list-style-type:decimal}ol.cg-s-littleroman{list-style-type:lower-roman}ol.cg-s-bigroman{list-style-type:upper-roman}
ol.cg-s-littlealpha{list-style-type:lower-alpha}ol.cg-s-bigalpha{list-style-type:upper-alpha}
del.cg-deleted{color:#8a1c1c}ins.cg-inserted{color:#1c5e1c}
.cg-unsafe{color:#8a1c1c;font-size:.9em}.cg-notice{border:1px dashed #b08000;background:#fff8e0;padding:.4em .6em}
.cg-footnotes{font-size:.9em;border-top:1px solid #ccc;margin-top:.6em}
img.cg-media{max-width:100%;height:auto}iframe.cg-embed{width:100%;height:40em;border:1px solid #b8c4d0}
pre.cg-plain{white-space:pre-wrap;font-family:ui-monospace,Menlo,Consolas,monospace;background:#f7f7f7;padding:.6em}
a{color:#1d4f91}
@media print{body{max-width:none;font-size:11pt;padding:0}nav.cg-toc{display:none}
h2{page-break-after:avoid}table.cg-table{page-break-inside:auto}tr{page-break-inside:avoid}
a{color:inherit;text-decoration:none}.cg-block{min-width:0}}
</xsl:text>
    </style>
  </xsl:template>

  <!-- ==== header ============================================================================ -->
  <xsl:template name="block">
    <xsl:param name="k"/>
    <xsl:param name="content"/>
    <xsl:if test="normalize-space($content) != '' or exsl:node-set($content)//*">
      <section class="cg-block">
        <h2><xsl:call-template name="label"><xsl:with-param name="k" select="$k"/></xsl:call-template></h2>
        <xsl:copy-of select="$content"/>
      </section>
    </xsl:if>
  </xsl:template>

  <!-- One dt/dd pair; nothing when the value is empty. -->
  <xsl:template name="row">
    <xsl:param name="k"/>
    <xsl:param name="v"/>
    <xsl:if test="normalize-space($v) != ''">
      <dt><xsl:call-template name="label"><xsl:with-param name="k" select="$k"/></xsl:call-template></dt>
      <dd><xsl:copy-of select="$v"/></dd>
    </xsl:if>
  </xsl:template>

  <xsl:template name="header">
    <xsl:call-template name="block">
      <xsl:with-param name="k" select="'document'"/>
      <xsl:with-param name="content">
        <dl class="cg-dl">
          <xsl:call-template name="row"><xsl:with-param name="k" select="'type'"/><xsl:with-param name="v"><xsl:apply-templates select="cda:code" mode="code"/></xsl:with-param></xsl:call-template>
          <xsl:call-template name="row"><xsl:with-param name="k" select="'id'"/><xsl:with-param name="v"><xsl:apply-templates select="cda:id" mode="id"/></xsl:with-param></xsl:call-template>
          <xsl:call-template name="row"><xsl:with-param name="k" select="'created'"/><xsl:with-param name="v"><xsl:apply-templates select="cda:effectiveTime" mode="time"/></xsl:with-param></xsl:call-template>
          <xsl:call-template name="row"><xsl:with-param name="k" select="'confidentiality'"/><xsl:with-param name="v"><xsl:choose><xsl:when test="not(cda:confidentialityCode/@displayName) and contains(' N R V ', concat(' ', cda:confidentialityCode/@code, ' '))"><xsl:call-template name="label"><xsl:with-param name="k" select="concat('conf-', cda:confidentialityCode/@code)"/></xsl:call-template></xsl:when><xsl:otherwise><xsl:apply-templates select="cda:confidentialityCode" mode="code"/></xsl:otherwise></xsl:choose></xsl:with-param></xsl:call-template>
          <xsl:call-template name="row"><xsl:with-param name="k" select="'language'"/><xsl:with-param name="v" select="string(cda:languageCode/@code)"/></xsl:call-template>
          <xsl:call-template name="row"><xsl:with-param name="k" select="'set'"/><xsl:with-param name="v"><xsl:apply-templates select="cda:setId" mode="id"/><xsl:if test="cda:versionNumber/@value"> v<xsl:value-of select="cda:versionNumber/@value"/></xsl:if></xsl:with-param></xsl:call-template>
        </dl>
      </xsl:with-param>
    </xsl:call-template>
    <xsl:for-each select="cda:recordTarget/cda:patientRole">
      <xsl:call-template name="block">
        <xsl:with-param name="k" select="'patient'"/>
        <xsl:with-param name="content"><xsl:apply-templates select="." mode="patient"/></xsl:with-param>
      </xsl:call-template>
    </xsl:for-each>
    <xsl:for-each select="cda:author">
      <xsl:call-template name="block"><xsl:with-param name="k" select="'author'"/><xsl:with-param name="content"><xsl:apply-templates select="." mode="participation"/></xsl:with-param></xsl:call-template>
    </xsl:for-each>
    <xsl:for-each select="cda:componentOf/cda:encompassingEncounter">
      <xsl:call-template name="block"><xsl:with-param name="k" select="'encounter'"/><xsl:with-param name="content"><xsl:apply-templates select="." mode="encounter"/></xsl:with-param></xsl:call-template>
    </xsl:for-each>
    <xsl:for-each select="cda:documentationOf/cda:serviceEvent">
      <xsl:call-template name="block"><xsl:with-param name="k" select="'serviceEvent'"/><xsl:with-param name="content">
        <dl class="cg-dl">
          <xsl:call-template name="row"><xsl:with-param name="k" select="'type'"/><xsl:with-param name="v"><xsl:apply-templates select="cda:code" mode="code"/></xsl:with-param></xsl:call-template>
          <xsl:call-template name="row"><xsl:with-param name="k" select="'id'"/><xsl:with-param name="v"><xsl:apply-templates select="cda:id" mode="id"/></xsl:with-param></xsl:call-template>
          <xsl:call-template name="row"><xsl:with-param name="k" select="'period'"/><xsl:with-param name="v"><xsl:apply-templates select="cda:effectiveTime" mode="time"/></xsl:with-param></xsl:call-template>
          <xsl:for-each select="cda:performer">
            <xsl:call-template name="row"><xsl:with-param name="k" select="'performer'"/><xsl:with-param name="v"><xsl:apply-templates select="." mode="participation"/></xsl:with-param></xsl:call-template>
          </xsl:for-each>
        </dl></xsl:with-param></xsl:call-template>
    </xsl:for-each>
    <xsl:for-each select="cda:inFulfillmentOf/cda:order">
      <xsl:call-template name="block"><xsl:with-param name="k" select="'order'"/><xsl:with-param name="content">
        <dl class="cg-dl">
          <xsl:call-template name="row"><xsl:with-param name="k" select="'id'"/><xsl:with-param name="v"><xsl:apply-templates select="cda:id" mode="id"/></xsl:with-param></xsl:call-template>
          <xsl:call-template name="row"><xsl:with-param name="k" select="'type'"/><xsl:with-param name="v"><xsl:apply-templates select="cda:code" mode="code"/></xsl:with-param></xsl:call-template>
        </dl></xsl:with-param></xsl:call-template>
    </xsl:for-each>
    <xsl:for-each select="cda:custodian">
      <xsl:call-template name="block"><xsl:with-param name="k" select="'custodian'"/><xsl:with-param name="content"><xsl:apply-templates select="cda:assignedCustodian" mode="party"/></xsl:with-param></xsl:call-template>
    </xsl:for-each>
    <xsl:for-each select="cda:dataEnterer">
      <xsl:call-template name="block"><xsl:with-param name="k" select="'dataEnterer'"/><xsl:with-param name="content"><xsl:apply-templates select="." mode="participation"/></xsl:with-param></xsl:call-template>
    </xsl:for-each>
    <xsl:for-each select="cda:informationRecipient">
      <xsl:call-template name="block"><xsl:with-param name="k" select="'recipient'"/><xsl:with-param name="content"><xsl:apply-templates select="." mode="participation"/></xsl:with-param></xsl:call-template>
    </xsl:for-each>
    <xsl:for-each select="cda:legalAuthenticator">
      <xsl:call-template name="block"><xsl:with-param name="k" select="'legalAuthenticator'"/><xsl:with-param name="content"><xsl:apply-templates select="." mode="participation"/></xsl:with-param></xsl:call-template>
    </xsl:for-each>
    <xsl:for-each select="cda:authenticator">
      <xsl:call-template name="block"><xsl:with-param name="k" select="'authenticator'"/><xsl:with-param name="content"><xsl:apply-templates select="." mode="participation"/></xsl:with-param></xsl:call-template>
    </xsl:for-each>
    <xsl:for-each select="cda:informant">
      <xsl:call-template name="block"><xsl:with-param name="k" select="'informant'"/><xsl:with-param name="content"><xsl:apply-templates select="." mode="participation"/></xsl:with-param></xsl:call-template>
    </xsl:for-each>
    <xsl:for-each select="cda:participant">
      <xsl:call-template name="block"><xsl:with-param name="k" select="'participant'"/><xsl:with-param name="content"><xsl:apply-templates select="." mode="participation"/></xsl:with-param></xsl:call-template>
    </xsl:for-each>
    <xsl:for-each select="cda:authorization/cda:consent">
      <xsl:call-template name="block"><xsl:with-param name="k" select="'consent'"/><xsl:with-param name="content">
        <dl class="cg-dl">
          <xsl:call-template name="row"><xsl:with-param name="k" select="'id'"/><xsl:with-param name="v"><xsl:apply-templates select="cda:id" mode="id"/></xsl:with-param></xsl:call-template>
          <xsl:call-template name="row"><xsl:with-param name="k" select="'type'"/><xsl:with-param name="v"><xsl:apply-templates select="cda:code" mode="code"/><xsl:if test="cda:statusCode/@code"> (<xsl:value-of select="cda:statusCode/@code"/>)</xsl:if></xsl:with-param></xsl:call-template>
        </dl></xsl:with-param></xsl:call-template>
    </xsl:for-each>
    <xsl:for-each select="cda:relatedDocument">
      <xsl:call-template name="block"><xsl:with-param name="k" select="'related'"/><xsl:with-param name="content">
        <p class="cg-party">
          <xsl:if test="@typeCode = 'RPLC' or @typeCode = 'APND' or @typeCode = 'XFRM'">
            <xsl:call-template name="label"><xsl:with-param name="k" select="string(@typeCode)"/></xsl:call-template><xsl:text> </xsl:text>
          </xsl:if>
          <xsl:apply-templates select="cda:parentDocument/cda:id" mode="id"/>
          <xsl:if test="cda:parentDocument/cda:setId"><br/><xsl:call-template name="label"><xsl:with-param name="k" select="'set'"/></xsl:call-template>: <xsl:apply-templates select="cda:parentDocument/cda:setId" mode="id"/><xsl:if test="cda:parentDocument/cda:versionNumber/@value"> v<xsl:value-of select="cda:parentDocument/cda:versionNumber/@value"/></xsl:if></xsl:if>
        </p></xsl:with-param></xsl:call-template>
    </xsl:for-each>
  </xsl:template>

  <xsl:template match="cda:patientRole" mode="patient">
    <xsl:variable name="p" select="cda:patient"/>
    <dl class="cg-dl">
      <xsl:call-template name="row"><xsl:with-param name="k" select="'name'"/><xsl:with-param name="v"><xsl:for-each select="$p/cda:name"><xsl:if test="position() > 1"><br/></xsl:if><xsl:apply-templates select="." mode="name"/></xsl:for-each></xsl:with-param></xsl:call-template>
      <xsl:call-template name="row"><xsl:with-param name="k" select="'ids'"/><xsl:with-param name="v"><xsl:apply-templates select="cda:id" mode="id"><xsl:with-param name="mask" select="$mask-ids = 'true'"/></xsl:apply-templates></xsl:with-param></xsl:call-template>
      <xsl:call-template name="row"><xsl:with-param name="k" select="'birth'"/><xsl:with-param name="v">
        <xsl:apply-templates select="$p/cda:birthTime" mode="time"/>
        <xsl:call-template name="age"><xsl:with-param name="birth" select="string($p/cda:birthTime/@value)"/></xsl:call-template>
      </xsl:with-param></xsl:call-template>
      <xsl:call-template name="row"><xsl:with-param name="k" select="'deceased'"/><xsl:with-param name="v"><xsl:apply-templates select="$p/sdtc:deceasedTime" mode="time"/></xsl:with-param></xsl:call-template>
      <xsl:call-template name="row"><xsl:with-param name="k" select="'gender'"/><xsl:with-param name="v"><xsl:apply-templates select="$p/cda:administrativeGenderCode" mode="code"/></xsl:with-param></xsl:call-template>
      <xsl:call-template name="row"><xsl:with-param name="k" select="'race'"/><xsl:with-param name="v"><xsl:for-each select="$p/cda:raceCode | $p/sdtc:raceCode"><xsl:if test="position() > 1">, </xsl:if><xsl:apply-templates select="." mode="code"/></xsl:for-each></xsl:with-param></xsl:call-template>
      <xsl:call-template name="row"><xsl:with-param name="k" select="'ethnicity'"/><xsl:with-param name="v"><xsl:for-each select="$p/cda:ethnicGroupCode | $p/sdtc:ethnicGroupCode"><xsl:if test="position() > 1">, </xsl:if><xsl:apply-templates select="." mode="code"/></xsl:for-each></xsl:with-param></xsl:call-template>
      <xsl:call-template name="row"><xsl:with-param name="k" select="'marital'"/><xsl:with-param name="v"><xsl:apply-templates select="$p/cda:maritalStatusCode" mode="code"/></xsl:with-param></xsl:call-template>
      <xsl:call-template name="row"><xsl:with-param name="k" select="'religion'"/><xsl:with-param name="v"><xsl:apply-templates select="$p/cda:religiousAffiliationCode" mode="code"/></xsl:with-param></xsl:call-template>
      <xsl:call-template name="row"><xsl:with-param name="k" select="'language'"/><xsl:with-param name="v"><xsl:for-each select="$p/cda:languageCommunication"><xsl:if test="position() > 1">, </xsl:if><xsl:value-of select="cda:languageCode/@code"/><xsl:if test="cda:preferenceInd/@value = 'true'"> ★</xsl:if></xsl:for-each></xsl:with-param></xsl:call-template>
      <xsl:call-template name="row"><xsl:with-param name="k" select="'address'"/><xsl:with-param name="v"><xsl:apply-templates select="cda:addr" mode="addr"/></xsl:with-param></xsl:call-template>
      <xsl:call-template name="row"><xsl:with-param name="k" select="'contact'"/><xsl:with-param name="v"><xsl:apply-templates select="cda:telecom" mode="telecom"/></xsl:with-param></xsl:call-template>
      <xsl:for-each select="$p/cda:guardian">
        <xsl:call-template name="row"><xsl:with-param name="k" select="'guardian'"/><xsl:with-param name="v"><xsl:apply-templates select="." mode="party"/></xsl:with-param></xsl:call-template>
      </xsl:for-each>
      <xsl:call-template name="row"><xsl:with-param name="k" select="'provider'"/><xsl:with-param name="v"><xsl:apply-templates select="cda:providerOrganization" mode="org"/></xsl:with-param></xsl:call-template>
    </dl>
  </xsl:template>

  <!-- A participation (author, performer, informant, ...): time, function, then its party. -->
  <xsl:template match="*" mode="participation">
    <div class="cg-party">
      <xsl:if test="cda:time">
        <div class="cg-muted"><xsl:apply-templates select="cda:time" mode="time"/>
          <xsl:if test="cda:signatureCode/@code = 'S'"> · <xsl:call-template name="label"><xsl:with-param name="k" select="'signed'"/></xsl:call-template></xsl:if>
        </div>
      </xsl:if>
      <xsl:if test="cda:functionCode"><div class="cg-muted"><xsl:apply-templates select="cda:functionCode" mode="code"/></div></xsl:if>
      <xsl:if test="cda:awarenessCode"><div class="cg-muted"><xsl:apply-templates select="cda:awarenessCode" mode="code"/></div></xsl:if>
      <xsl:apply-templates select="cda:assignedAuthor | cda:assignedEntity | cda:intendedRecipient | cda:relatedEntity | cda:associatedEntity" mode="party"/>
    </div>
  </xsl:template>

  <!-- A party: role, people, devices, organizations, addresses, contacts, ids. -->
  <xsl:template match="*" mode="party">
    <div class="cg-party">
      <xsl:if test="cda:code"><div class="cg-muted"><xsl:apply-templates select="cda:code" mode="code"/></div></xsl:if>
      <xsl:for-each select="*[cda:name and not(contains(local-name(), 'rganization'))]/cda:name | cda:name">
        <div><xsl:apply-templates select="." mode="name"/></div>
      </xsl:for-each>
      <xsl:for-each select="cda:assignedAuthoringDevice">
        <div><xsl:value-of select="normalize-space(cda:manufacturerModelName)"/><xsl:if test="cda:softwareName"> · <xsl:value-of select="normalize-space(cda:softwareName)"/></xsl:if></div>
      </xsl:for-each>
      <xsl:apply-templates select="cda:addr" mode="addr"/>
      <xsl:apply-templates select="cda:telecom" mode="telecom"/>
      <xsl:if test="cda:id[@extension or @root]"><div class="cg-muted"><xsl:apply-templates select="cda:id" mode="id"/></div></xsl:if>
      <xsl:apply-templates select="*[contains(local-name(), 'rganization')]" mode="org"/>
    </div>
  </xsl:template>

  <xsl:template match="*" mode="org">
    <div class="cg-party">
      <xsl:for-each select="cda:name"><div><xsl:value-of select="normalize-space(.)"/></div></xsl:for-each>
      <xsl:apply-templates select="cda:addr" mode="addr"/>
      <xsl:apply-templates select="cda:telecom" mode="telecom"/>
    </div>
  </xsl:template>

  <xsl:template match="cda:encompassingEncounter" mode="encounter">
    <dl class="cg-dl">
      <xsl:call-template name="row"><xsl:with-param name="k" select="'id'"/><xsl:with-param name="v"><xsl:apply-templates select="cda:id" mode="id"/></xsl:with-param></xsl:call-template>
      <xsl:call-template name="row"><xsl:with-param name="k" select="'type'"/><xsl:with-param name="v"><xsl:apply-templates select="cda:code" mode="code"/></xsl:with-param></xsl:call-template>
      <xsl:call-template name="row"><xsl:with-param name="k" select="'period'"/><xsl:with-param name="v"><xsl:apply-templates select="cda:effectiveTime" mode="time"/></xsl:with-param></xsl:call-template>
      <xsl:call-template name="row"><xsl:with-param name="k" select="'location'"/><xsl:with-param name="v">
        <xsl:for-each select="cda:location/cda:healthCareFacility">
          <xsl:apply-templates select="cda:code" mode="code"/>
          <xsl:apply-templates select="cda:location | cda:serviceProviderOrganization" mode="org"/>
        </xsl:for-each></xsl:with-param></xsl:call-template>
      <xsl:call-template name="row"><xsl:with-param name="k" select="'responsible'"/><xsl:with-param name="v"><xsl:apply-templates select="cda:responsibleParty/cda:assignedEntity" mode="party"/></xsl:with-param></xsl:call-template>
      <xsl:for-each select="cda:encounterParticipant">
        <xsl:call-template name="row"><xsl:with-param name="k" select="'encounterParticipant'"/><xsl:with-param name="v"><xsl:if test="@typeCode"><span class="cg-muted"><xsl:choose><xsl:when test="contains(' ADM ATND CON DIS REF ', concat(' ', @typeCode, ' '))"><xsl:call-template name="label"><xsl:with-param name="k" select="concat('ep-', @typeCode)"/></xsl:call-template></xsl:when><xsl:otherwise><xsl:value-of select="@typeCode"/></xsl:otherwise></xsl:choose></span></xsl:if><xsl:apply-templates select="." mode="participation"/></xsl:with-param></xsl:call-template>
      </xsl:for-each>
      <xsl:call-template name="row"><xsl:with-param name="k" select="'disposition'"/><xsl:with-param name="v"><xsl:apply-templates select="cda:dischargeDispositionCode" mode="code"/></xsl:with-param></xsl:call-template>
    </dl>
  </xsl:template>

  <!-- ==== data types ========================================================================= -->
  <xsl:template match="*" mode="code">
    <xsl:choose>
      <xsl:when test="normalize-space(@displayName) != ''"><xsl:value-of select="@displayName"/></xsl:when>
      <xsl:when test="normalize-space(cda:originalText) != ''"><xsl:value-of select="normalize-space(cda:originalText)"/></xsl:when>
      <xsl:when test="@code"><xsl:value-of select="@code"/></xsl:when>
      <xsl:when test="@nullFlavor"><xsl:call-template name="label"><xsl:with-param name="k" select="'unknown'"/></xsl:call-template></xsl:when>
    </xsl:choose>
  </xsl:template>

  <xsl:template match="*" mode="id">
    <xsl:param name="mask" select="false()"/>
    <xsl:if test="position() > 1"><br/></xsl:if>
    <xsl:choose>
      <xsl:when test="@extension and $mask">
        <xsl:variable name="n" select="string-length(@extension)"/>
        <xsl:value-of select="concat(substring($stars, 1, $n - 4), substring(@extension, $n - 3))"/>
      </xsl:when>
      <xsl:when test="@extension"><xsl:value-of select="@extension"/></xsl:when>
      <xsl:when test="@root and $mask">****</xsl:when>
      <xsl:otherwise><xsl:value-of select="@root"/></xsl:otherwise>
    </xsl:choose>
    <xsl:if test="@extension and @root"> <span class="cg-muted"> (<xsl:value-of select="@root"/>)</span></xsl:if>
  </xsl:template>

  <xsl:template match="*" mode="name">
    <xsl:choose>
      <xsl:when test="*">
        <xsl:for-each select="cda:prefix | cda:given | cda:family | cda:suffix">
          <xsl:if test="position() > 1"><xsl:text> </xsl:text></xsl:if>
          <xsl:value-of select="normalize-space(.)"/>
        </xsl:for-each>
      </xsl:when>
      <xsl:otherwise><xsl:value-of select="normalize-space(.)"/></xsl:otherwise>
    </xsl:choose>
    <xsl:if test="@use and @use != 'L'"><span class="cg-muted"> (<xsl:value-of select="@use"/>)</span></xsl:if>
  </xsl:template>

  <xsl:template match="*" mode="addr">
    <div class="cg-addr">
      <xsl:for-each select="cda:streetAddressLine"><xsl:value-of select="normalize-space(.)"/><br/></xsl:for-each>
      <xsl:value-of select="normalize-space(cda:city)"/>
      <xsl:if test="cda:state">, <xsl:value-of select="normalize-space(cda:state)"/></xsl:if>
      <xsl:if test="cda:postalCode"><xsl:text> </xsl:text><xsl:value-of select="normalize-space(cda:postalCode)"/></xsl:if>
      <xsl:if test="cda:country"><xsl:text> </xsl:text><xsl:value-of select="normalize-space(cda:country)"/></xsl:if>
      <xsl:if test="not(*)"><xsl:value-of select="normalize-space(.)"/></xsl:if>
      <xsl:if test="@use"><span class="cg-muted"><xsl:text> (</xsl:text><xsl:call-template name="use"/>)</span></xsl:if>
    </div>
  </xsl:template>

  <xsl:template name="use">
    <xsl:choose>
      <xsl:when test="@use = 'HP' or @use = 'WP' or @use = 'MC'"><xsl:call-template name="label"><xsl:with-param name="k" select="string(@use)"/></xsl:call-template></xsl:when>
      <xsl:otherwise><xsl:value-of select="@use"/></xsl:otherwise>
    </xsl:choose>
  </xsl:template>

  <xsl:template match="*" mode="telecom">
    <xsl:if test="@value">
      <div class="cg-telecom">
        <xsl:call-template name="link">
          <xsl:with-param name="href" select="string(@value)"/>
          <xsl:with-param name="text" select="string(@value)"/>
        </xsl:call-template>
        <xsl:if test="@use"><span class="cg-muted"><xsl:text> (</xsl:text><xsl:call-template name="use"/>)</span></xsl:if>
      </div>
    </xsl:if>
  </xsl:template>

  <!-- TS, IVL_TS: "20120806143000-0500" to "6 Aug 2012 14:30 -0500". -->
  <xsl:template match="*" mode="time">
    <xsl:choose>
      <xsl:when test="@value"><xsl:call-template name="ts"><xsl:with-param name="v" select="string(@value)"/></xsl:call-template></xsl:when>
      <xsl:when test="cda:low/@value or cda:high/@value">
        <xsl:call-template name="ts"><xsl:with-param name="v" select="string(cda:low/@value)"/></xsl:call-template>
        <xsl:text> – </xsl:text>
        <xsl:call-template name="ts"><xsl:with-param name="v" select="string(cda:high/@value)"/></xsl:call-template>
      </xsl:when>
      <xsl:when test="cda:center/@value"><xsl:call-template name="ts"><xsl:with-param name="v" select="string(cda:center/@value)"/></xsl:call-template></xsl:when>
    </xsl:choose>
  </xsl:template>

  <xsl:template name="ts">
    <xsl:param name="v"/>
    <xsl:variable name="digits" select="substring-before(concat(translate($v, '+-', '~~'), '~'), '~')"/>
    <xsl:variable name="d" select="substring-before(concat($digits, '.'), '.')"/>
    <xsl:variable name="tz" select="substring($v, string-length($digits) + 1)"/>
    <xsl:choose>
      <xsl:when test="$v = ''"/>
      <xsl:when test="string-length($d) &lt; 4 or translate($d, '0123456789', '') != ''"><xsl:value-of select="$v"/></xsl:when>
      <xsl:otherwise>
        <xsl:if test="string-length($d) >= 8"><xsl:value-of select="number(substring($d, 7, 2))"/><xsl:text> </xsl:text></xsl:if>
        <xsl:if test="string-length($d) >= 6">
          <xsl:call-template name="label"><xsl:with-param name="k" select="concat('m', substring($d, 5, 2))"/></xsl:call-template><xsl:text> </xsl:text>
        </xsl:if>
        <xsl:value-of select="substring($d, 1, 4)"/>
        <xsl:if test="string-length($d) >= 12"><xsl:value-of select="concat(' ', substring($d, 9, 2), ':', substring($d, 11, 2))"/></xsl:if>
        <xsl:if test="string-length($d) >= 12 and $tz != ''"><xsl:value-of select="concat(' ', $tz)"/></xsl:if>
      </xsl:otherwise>
    </xsl:choose>
  </xsl:template>

  <!-- Age in whole years at the document's date. -->
  <xsl:template name="age">
    <xsl:param name="birth"/>
    <xsl:variable name="b" select="substring($birth, 1, 8)"/>
    <xsl:variable name="t" select="substring($doc-time, 1, 8)"/>
    <xsl:if test="string-length($b) = 8 and string-length($t) = 8 and translate(concat($b, $t), '0123456789', '') = ''">
      <xsl:variable name="years" select="number(substring($t, 1, 4)) - number(substring($b, 1, 4)) - (number(substring($t, 5, 4)) &lt; number(substring($b, 5, 4)))"/>
      <xsl:if test="$years >= 0">
        <span class="cg-muted"> (<xsl:call-template name="label"><xsl:with-param name="k" select="'age'"/></xsl:call-template><xsl:value-of select="concat(' ', $years, ' ')"/><xsl:call-template name="label"><xsl:with-param name="k" select="'years'"/></xsl:call-template>)</span>
      </xsl:if>
    </xsl:if>
  </xsl:template>

  <!-- ==== links: the one place an href is written ============================================ -->
  <!-- 'ok' when the address is relative, a fragment, or http/https/mailto/tel. -->
  <xsl:template name="url-verdict">
    <xsl:param name="u"/>
    <xsl:variable name="s" select="translate($u, concat($UPPER, $url-strip), $lower)"/>
    <xsl:variable name="scheme" select="substring-before($s, ':')"/>
    <xsl:choose>
      <xsl:when test="$s = ''">no</xsl:when>
      <xsl:when test="starts-with($s, '#')">ok</xsl:when>
      <xsl:when test="not(contains($s, ':'))">ok</xsl:when>
      <xsl:when test="contains($scheme, '/') or contains($scheme, '?') or contains($scheme, '#')">ok</xsl:when>
      <xsl:when test="$scheme = 'http' or $scheme = 'https' or $scheme = 'mailto' or $scheme = 'tel'">ok</xsl:when>
      <xsl:otherwise>no</xsl:otherwise>
    </xsl:choose>
  </xsl:template>

  <xsl:template name="link">
    <xsl:param name="href"/>
    <xsl:param name="text"/>
    <xsl:param name="content" select="/.."/>
    <xsl:param name="title" select="''"/>
    <xsl:variable name="verdict"><xsl:call-template name="url-verdict"><xsl:with-param name="u" select="$href"/></xsl:call-template></xsl:variable>
    <xsl:variable name="clean" select="translate($href, $url-strip, '')"/>
    <xsl:choose>
      <xsl:when test="$verdict = 'ok'">
        <a>
          <xsl:attribute name="href">
            <xsl:choose>
              <!-- fragments point at the narrative's own ids, which the page prefixes -->
              <xsl:when test="starts-with($clean, '#') and string-length($clean) > 1"><xsl:value-of select="concat('#n-', substring($clean, 2))"/></xsl:when>
              <xsl:otherwise><xsl:value-of select="$clean"/></xsl:otherwise>
            </xsl:choose>
          </xsl:attribute>
          <xsl:if test="not(starts-with($clean, '#'))"><xsl:attribute name="rel">noopener noreferrer nofollow</xsl:attribute></xsl:if>
          <xsl:if test="normalize-space($title) != ''"><xsl:attribute name="title"><xsl:value-of select="$title"/></xsl:attribute></xsl:if>
          <xsl:value-of select="$text"/>
          <xsl:apply-templates select="$content" mode="narrative"/>
        </a>
      </xsl:when>
      <xsl:otherwise>
        <span class="cg-unsafe">
          <xsl:value-of select="$text"/>
          <xsl:apply-templates select="$content" mode="narrative"/>
          <xsl:text> [</xsl:text><xsl:call-template name="label"><xsl:with-param name="k" select="'unsafe-link'"/></xsl:call-template><xsl:text>]</xsl:text>
        </span>
      </xsl:otherwise>
    </xsl:choose>
  </xsl:template>

  <!-- ==== body =============================================================================== -->
  <xsl:template match="cda:structuredBody">
    <xsl:if test="cda:component/cda:section">
      <nav class="cg-toc" aria-labelledby="cg-toc-h">
        <h2 id="cg-toc-h"><xsl:call-template name="label"><xsl:with-param name="k" select="'contents'"/></xsl:call-template></h2>
        <ol><xsl:apply-templates select="cda:component/cda:section" mode="toc"/></ol>
      </nav>
    </xsl:if>
    <xsl:apply-templates select="cda:component/cda:section"/>
  </xsl:template>

  <xsl:template match="cda:section" mode="toc">
    <li>
      <a href="#cg-s-{generate-id()}"><xsl:call-template name="section-title"/></a>
      <xsl:if test="cda:component/cda:section">
        <ol><xsl:apply-templates select="cda:component/cda:section" mode="toc"/></ol>
      </xsl:if>
    </li>
  </xsl:template>

  <xsl:template name="section-title">
    <xsl:choose>
      <xsl:when test="normalize-space(cda:title) != ''"><xsl:value-of select="normalize-space(cda:title)"/></xsl:when>
      <xsl:when test="cda:code/@displayName"><xsl:value-of select="cda:code/@displayName"/></xsl:when>
      <xsl:otherwise><xsl:value-of select="concat('§ ', count(preceding::cda:section) + count(ancestor::cda:section) + 1)"/></xsl:otherwise>
    </xsl:choose>
  </xsl:template>

  <xsl:template match="cda:section">
    <xsl:variable name="level" select="count(ancestor::cda:section) + 2"/>
    <section class="cg-section" id="cg-s-{generate-id()}">
      <xsl:if test="@ID"><xsl:attribute name="data-id"><xsl:value-of select="@ID"/></xsl:attribute></xsl:if>
      <xsl:element name="{concat('h', ($level > 6) * 6 + ($level &lt;= 6) * $level)}">
        <xsl:call-template name="section-title"/>
      </xsl:element>
      <xsl:for-each select="cda:author">
        <div class="cg-section-author"><xsl:call-template name="label"><xsl:with-param name="k" select="'section-author'"/></xsl:call-template>:
          <xsl:apply-templates select="." mode="participation"/></div>
      </xsl:for-each>
      <xsl:apply-templates select="cda:text"/>
      <xsl:apply-templates select="cda:component/cda:section"/>
    </section>
  </xsl:template>

  <xsl:template match="cda:text">
    <div class="cg-narrative">
      <xsl:call-template name="ids"/>
      <xsl:apply-templates select="node()" mode="narrative"/>
      <xsl:if test=".//cda:footnote">
        <div class="cg-footnotes" role="doc-endnotes">
          <ol>
            <xsl:for-each select=".//cda:footnote">
              <li id="cg-fn-{generate-id()}">
                <xsl:if test="@ID"><span id="n-{@ID}"/></xsl:if>
                <xsl:apply-templates select="node()" mode="narrative"/>
              </li>
            </xsl:for-each>
          </ol>
        </div>
      </xsl:if>
    </div>
  </xsl:template>

  <!-- ==== the narrative block: an element-by-element allow-list ============================== -->
  <!-- Text is text; comments and processing instructions are dropped. -->
  <xsl:template match="text()" mode="narrative"><xsl:value-of select="."/></xsl:template>
  <xsl:template match="comment() | processing-instruction()" mode="narrative"/>

  <!-- Anything the narrative schema does not define (script, img, iframe, xhtml elements...):
       its text is kept, the element itself is not. -->
  <xsl:template match="*" mode="narrative">
    <xsl:apply-templates select="node()" mode="narrative"/>
  </xsl:template>

  <!-- id (from ID, prefixed so it cannot collide with the page's own) and lang -->
  <xsl:template name="ids">
    <xsl:if test="@ID"><xsl:attribute name="id"><xsl:value-of select="concat('n-', @ID)"/></xsl:attribute></xsl:if>
    <xsl:if test="@language and translate(@language, 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-', '') = ''">
      <xsl:attribute name="lang"><xsl:value-of select="@language"/></xsl:attribute>
    </xsl:if>
  </xsl:template>

  <!-- styleCode tokens to fixed classes; unknown tokens are ignored. -->
  <xsl:template name="style-classes">
    <xsl:param name="extra" select="''"/>
    <xsl:variable name="s" select="concat(' ', translate(normalize-space(@styleCode), $UPPER, $lower), ' ')"/>
    <xsl:variable name="c">
      <xsl:value-of select="$extra"/>
      <xsl:for-each select="str:tokenize('bold underline italics emphasis lrule rrule toprule botrule disc circle square arabic littleroman bigroman littlealpha bigalpha', ' ')">
        <xsl:if test="contains($s, concat(' ', ., ' '))"><xsl:value-of select="concat(' cg-s-', .)"/></xsl:if>
      </xsl:for-each>
    </xsl:variable>
    <xsl:if test="normalize-space($c) != ''"><xsl:attribute name="class"><xsl:value-of select="normalize-space($c)"/></xsl:attribute></xsl:if>
  </xsl:template>

  <xsl:template match="cda:content" mode="narrative">
    <xsl:choose>
      <xsl:when test="@revised = 'delete'">
        <del class="cg-deleted"><xsl:call-template name="ids"/><xsl:apply-templates select="node()" mode="narrative"/></del>
      </xsl:when>
      <xsl:when test="@revised = 'insert'">
        <ins class="cg-inserted"><xsl:call-template name="ids"/><xsl:apply-templates select="node()" mode="narrative"/></ins>
      </xsl:when>
      <xsl:otherwise>
        <span><xsl:call-template name="ids"/><xsl:call-template name="style-classes"/><xsl:apply-templates select="node()" mode="narrative"/></span>
      </xsl:otherwise>
    </xsl:choose>
  </xsl:template>

  <xsl:template match="cda:paragraph" mode="narrative">
    <p><xsl:call-template name="ids"/><xsl:call-template name="style-classes"/><xsl:apply-templates select="node()" mode="narrative"/></p>
  </xsl:template>

  <xsl:template match="cda:caption" mode="narrative">
    <span class="cg-caption"><xsl:call-template name="ids"/><xsl:apply-templates select="node()" mode="narrative"/></span>
  </xsl:template>

  <xsl:template match="cda:br" mode="narrative"><br/></xsl:template>
  <xsl:template match="cda:sub" mode="narrative"><sub><xsl:apply-templates select="node()" mode="narrative"/></sub></xsl:template>
  <xsl:template match="cda:sup" mode="narrative"><sup><xsl:apply-templates select="node()" mode="narrative"/></sup></xsl:template>

  <xsl:template match="cda:linkHtml" mode="narrative">
    <xsl:call-template name="link">
      <xsl:with-param name="href" select="string(@href)"/>
      <xsl:with-param name="text" select="''"/>
      <xsl:with-param name="content" select="node()"/>
      <xsl:with-param name="title" select="string(@title)"/>
    </xsl:call-template>
  </xsl:template>

  <xsl:template match="cda:footnote" mode="narrative">
    <xsl:variable name="n" select="count(preceding::cda:footnote) - count(ancestor::cda:text[1]/preceding::cda:footnote) + 1"/>
    <sup class="cg-fnref"><a href="#cg-fn-{generate-id()}"><xsl:value-of select="concat('[', $n, ']')"/></a></sup>
  </xsl:template>

  <xsl:template match="cda:footnoteRef" mode="narrative">
    <sup class="cg-fnref">
      <xsl:call-template name="link">
        <xsl:with-param name="href" select="concat('#', normalize-space(@IDREF))"/>
        <xsl:with-param name="text" select="'*'"/>
      </xsl:call-template>
    </sup>
  </xsl:template>

  <xsl:template match="cda:list" mode="narrative">
    <xsl:variable name="tag"><xsl:choose><xsl:when test="@listType = 'ordered'">ol</xsl:when><xsl:otherwise>ul</xsl:otherwise></xsl:choose></xsl:variable>
    <xsl:apply-templates select="cda:caption" mode="narrative"/>
    <xsl:element name="{$tag}">
      <xsl:call-template name="ids"/>
      <xsl:call-template name="style-classes"/>
      <xsl:for-each select="cda:item">
        <li><xsl:call-template name="ids"/><xsl:call-template name="style-classes"/><xsl:apply-templates select="node()" mode="narrative"/></li>
      </xsl:for-each>
      <!-- text or elements outside item: kept, in an item of their own -->
      <xsl:if test="node()[not(self::cda:item or self::cda:caption)][normalize-space(.) != '']">
        <li><xsl:apply-templates select="node()[not(self::cda:item or self::cda:caption)]" mode="narrative"/></li>
      </xsl:if>
    </xsl:element>
  </xsl:template>

  <!-- Tables: only the attributes the narrative schema allows, each value checked. -->
  <xsl:template name="num-attr">
    <xsl:param name="a"/>
    <xsl:if test="$a and string($a) != '' and string-length($a) &lt; 12 and translate($a, '0123456789%.*', '') = ''">
      <xsl:attribute name="{local-name($a)}"><xsl:value-of select="$a"/></xsl:attribute>
    </xsl:if>
  </xsl:template>
  <xsl:template name="enum-attr">
    <xsl:param name="a"/>
    <xsl:param name="values"/>
    <xsl:if test="$a and contains(concat(' ', $values, ' '), concat(' ', string($a), ' ')) and not(contains(string($a), ' '))">
      <xsl:attribute name="{local-name($a)}"><xsl:value-of select="$a"/></xsl:attribute>
    </xsl:if>
  </xsl:template>
  <xsl:template name="cell-attrs">
    <xsl:call-template name="enum-attr"><xsl:with-param name="a" select="@align"/><xsl:with-param name="values" select="'left center right justify char'"/></xsl:call-template>
    <xsl:call-template name="enum-attr"><xsl:with-param name="a" select="@valign"/><xsl:with-param name="values" select="'top middle bottom baseline'"/></xsl:call-template>
  </xsl:template>

  <xsl:template match="cda:table" mode="narrative">
    <table>
      <xsl:call-template name="ids"/>
      <xsl:call-template name="style-classes"><xsl:with-param name="extra" select="'cg-table'"/></xsl:call-template>
      <xsl:call-template name="num-attr"><xsl:with-param name="a" select="@width"/></xsl:call-template>
      <xsl:call-template name="num-attr"><xsl:with-param name="a" select="@border"/></xsl:call-template>
      <xsl:call-template name="num-attr"><xsl:with-param name="a" select="@cellspacing"/></xsl:call-template>
      <xsl:call-template name="num-attr"><xsl:with-param name="a" select="@cellpadding"/></xsl:call-template>
      <xsl:call-template name="enum-attr"><xsl:with-param name="a" select="@frame"/><xsl:with-param name="values" select="'void above below hsides lhs rhs vsides box border'"/></xsl:call-template>
      <xsl:call-template name="enum-attr"><xsl:with-param name="a" select="@rules"/><xsl:with-param name="values" select="'none groups rows cols all'"/></xsl:call-template>
      <xsl:if test="normalize-space(@summary) != ''"><xsl:attribute name="aria-description"><xsl:value-of select="@summary"/></xsl:attribute></xsl:if>
      <xsl:if test="cda:caption"><caption><xsl:apply-templates select="cda:caption/node()" mode="narrative"/></caption></xsl:if>
      <xsl:apply-templates select="cda:colgroup | cda:col" mode="narrative"/>
      <xsl:apply-templates select="cda:thead" mode="narrative"/>
      <xsl:apply-templates select="cda:tbody" mode="narrative"/>
      <xsl:if test="cda:tr"><tbody><xsl:apply-templates select="cda:tr" mode="narrative"/></tbody></xsl:if>
      <xsl:apply-templates select="cda:tfoot" mode="narrative"/>
    </table>
    <!-- anything else inside the table: its text is kept after it -->
    <xsl:if test="node()[not(self::cda:caption or self::cda:colgroup or self::cda:col or self::cda:thead or self::cda:tbody or self::cda:tfoot or self::cda:tr)][normalize-space(.) != '']">
      <div><xsl:apply-templates select="node()[not(self::cda:caption or self::cda:colgroup or self::cda:col or self::cda:thead or self::cda:tbody or self::cda:tfoot or self::cda:tr)]" mode="narrative"/></div>
    </xsl:if>
  </xsl:template>

  <xsl:template match="cda:colgroup" mode="narrative">
    <colgroup>
      <xsl:call-template name="ids"/><xsl:call-template name="style-classes"/>
      <xsl:call-template name="num-attr"><xsl:with-param name="a" select="@span"/></xsl:call-template>
      <xsl:call-template name="num-attr"><xsl:with-param name="a" select="@width"/></xsl:call-template>
      <xsl:call-template name="cell-attrs"/>
      <xsl:apply-templates select="cda:col" mode="narrative"/>
    </colgroup>
  </xsl:template>
  <xsl:template match="cda:col" mode="narrative">
    <col>
      <xsl:call-template name="ids"/><xsl:call-template name="style-classes"/>
      <xsl:call-template name="num-attr"><xsl:with-param name="a" select="@span"/></xsl:call-template>
      <xsl:call-template name="num-attr"><xsl:with-param name="a" select="@width"/></xsl:call-template>
      <xsl:call-template name="cell-attrs"/>
    </col>
  </xsl:template>

  <xsl:template match="cda:thead | cda:tbody | cda:tfoot" mode="narrative">
    <xsl:element name="{local-name()}">
      <xsl:call-template name="ids"/><xsl:call-template name="style-classes"/><xsl:call-template name="cell-attrs"/>
      <xsl:apply-templates select="cda:tr" mode="narrative"/>
      <xsl:if test="node()[not(self::cda:tr)][normalize-space(.) != '']">
        <tr><td><xsl:apply-templates select="node()[not(self::cda:tr)]" mode="narrative"/></td></tr>
      </xsl:if>
    </xsl:element>
  </xsl:template>

  <xsl:template match="cda:tr" mode="narrative">
    <tr>
      <xsl:call-template name="ids"/><xsl:call-template name="style-classes"/><xsl:call-template name="cell-attrs"/>
      <xsl:apply-templates select="cda:th | cda:td" mode="narrative"/>
      <xsl:if test="node()[not(self::cda:th or self::cda:td)][normalize-space(.) != '']">
        <td><xsl:apply-templates select="node()[not(self::cda:th or self::cda:td)]" mode="narrative"/></td>
      </xsl:if>
    </tr>
  </xsl:template>

  <xsl:template match="cda:th | cda:td" mode="narrative">
    <xsl:element name="{local-name()}">
      <xsl:call-template name="ids"/><xsl:call-template name="style-classes"/><xsl:call-template name="cell-attrs"/>
      <xsl:call-template name="num-attr"><xsl:with-param name="a" select="@rowspan"/></xsl:call-template>
      <xsl:call-template name="num-attr"><xsl:with-param name="a" select="@colspan"/></xsl:call-template>
      <xsl:if test="normalize-space(@abbr) != ''"><xsl:attribute name="abbr"><xsl:value-of select="@abbr"/></xsl:attribute></xsl:if>
      <xsl:if test="normalize-space(@headers) != ''"><xsl:attribute name="headers"><xsl:for-each select="str:tokenize(normalize-space(@headers), ' ')"><xsl:if test="position() > 1"><xsl:text> </xsl:text></xsl:if><xsl:value-of select="concat('n-', .)"/></xsl:for-each></xsl:attribute></xsl:if>
      <xsl:if test="self::cda:th">
        <xsl:attribute name="scope">
          <xsl:choose>
            <xsl:when test="@scope = 'row' or @scope = 'col' or @scope = 'rowgroup' or @scope = 'colgroup'"><xsl:value-of select="@scope"/></xsl:when>
            <xsl:when test="ancestor::cda:thead">col</xsl:when>
            <xsl:otherwise>row</xsl:otherwise>
          </xsl:choose>
        </xsl:attribute>
      </xsl:if>
      <xsl:apply-templates select="node()" mode="narrative"/>
    </xsl:element>
  </xsl:template>

  <!-- renderMultiMedia: the observationMedia it names, embedded only when allow-listed. -->
  <xsl:template match="cda:renderMultiMedia" mode="narrative">
    <span class="cg-multimedia">
      <xsl:call-template name="ids"/>
      <xsl:variable name="media" select="key('media', str:tokenize(normalize-space(@referencedObject), ' '))"/>
      <xsl:for-each select="$media">
        <xsl:call-template name="embed">
          <xsl:with-param name="ed" select="cda:value"/>
          <xsl:with-param name="alt" select="normalize-space(current()/cda:caption)"/>
        </xsl:call-template>
      </xsl:for-each>
      <xsl:if test="not($media)">
        <span class="cg-notice"><xsl:call-template name="label"><xsl:with-param name="k" select="'missing-media'"/></xsl:call-template>: <xsl:value-of select="@referencedObject"/></span>
      </xsl:if>
      <xsl:apply-templates select="cda:caption" mode="narrative"/>
    </span>
  </xsl:template>

  <!-- ==== embedded content (ED): observationMedia values, nonXMLBody text ===================== -->
  <xsl:template name="embed">
    <xsl:param name="ed"/>
    <xsl:param name="alt" select="''"/>
    <xsl:variable name="type" select="translate(normalize-space($ed/@mediaType), $UPPER, $lower)"/>
    <xsl:variable name="b64" select="translate($ed/@representation, $lower, $UPPER) = 'B64'"/>
    <xsl:variable name="data" select="translate(string($ed), $b64-ws, '')"/>
    <xsl:variable name="clean-b64" select="$data != '' and translate($data, $b64-alphabet, '') = ''"/>
    <xsl:choose>
      <xsl:when test="$b64 and $clean-b64 and ($type = 'image/png' or $type = 'image/jpeg' or $type = 'image/gif')">
        <img class="cg-media" alt="{$alt}" src="{concat('data:', $type, ';base64,', $data)}"/>
      </xsl:when>
      <xsl:when test="$b64 and $clean-b64 and $type = 'application/pdf'">
        <iframe class="cg-embed" sandbox="" title="PDF" src="{concat('data:application/pdf;base64,', $data)}"></iframe>
      </xsl:when>
      <xsl:when test="($type = 'text/plain' or $type = '') and not($b64) and normalize-space($ed) != ''">
        <pre class="cg-plain"><xsl:value-of select="$ed"/></pre>
      </xsl:when>
      <xsl:when test="$type = 'text/plain' and $b64 and $clean-b64 and function-available('cg:base64-text') and cg:base64-text($data) != ''">
        <pre class="cg-plain"><xsl:value-of select="cg:base64-text($data)"/></pre>
      </xsl:when>
      <xsl:otherwise>
        <span class="cg-notice">
          <xsl:call-template name="label"><xsl:with-param name="k" select="'not-shown'"/></xsl:call-template>
          <xsl:value-of select="concat(' ', $ed/@mediaType, ' ')"/>
          <xsl:if test="$ed/cda:reference/@value">
            <xsl:call-template name="link">
              <xsl:with-param name="href" select="string($ed/cda:reference/@value)"/>
              <xsl:with-param name="text" select="string($ed/cda:reference/@value)"/>
            </xsl:call-template>
          </xsl:if>
          <xsl:if test="$alt != ''"><xsl:value-of select="concat(' ', $alt)"/></xsl:if>
        </span>
      </xsl:otherwise>
    </xsl:choose>
  </xsl:template>

  <xsl:template match="cda:nonXMLBody">
    <section class="cg-section" id="cg-nonxml">
      <xsl:call-template name="embed"><xsl:with-param name="ed" select="cda:text"/></xsl:call-template>
    </section>
  </xsl:template>

</xsl:stylesheet>
