"""Every word the month-end report prints, per language: English, German, French, Spanish.

A team reads its books in its own language, chosen by its locale's language (``de_CH`` ->
German); any other language gets English, while numbers, dates and month names still follow the
full locale (``text.Style``). The figures enter a text through named placeholders, never by
gluing words together, so each language keeps its own word order. Sentences that count things
put the count after a colon ("...: 3"), which reads right for one or many in every language
without plural rules.

What a machine reads (the totals line, the content-hash line and the PDF keywords, see
``verify``) is not here: it stays the same in every language.

French puts a no-break space before ":" and ";" (``\\u00a0``), so the sign never starts a line.
"""

from __future__ import annotations

from dataclasses import dataclass

NBSP = "\u00a0"

TEXTS: dict[str, dict[str, str]] = {
    "en": {
        "kicker": "MONTH-END REPORT",
        "doc_title": "Month-end report {month}: {team}",
        "amounts": "Amounts in {currency} · time zone {zone} · data up to {cutoff}",
        "empty_title": "No transactions in {month}.",
        "empty_body": "The bank feeds delivered no booking dated in this month for this team, "
        "so there are no revenue, expenses or cash movements to report.",
        "summary": "Summary",
        "change": "Change",
        "revenue": "Revenue",
        "expenses": "Expenses",
        "net": "Net",
        "transactions": "Transactions",
        "no_data": "no data",
        "unconverted": "Transactions without an amount in {currency}, left out of these sums: "
        "{count}.",
        "categories": "Expenses by category",
        "no_expenses": "No expenses this month.",
        "category": "Category",
        "amount": "Amount",
        "share": "Share",
        "weeks": "Cash in and out per week",
        "week": "Week",
        "days": "Days",
        "cash_in": "Cash in",
        "cash_out": "Cash out",
        "balance": "Net",
        "receivables": "Receivables",
        "invoices": "Invoices",
        "invoiced_amount": "Invoiced amount",
        "owed": "Owed at the month's end",
        "overdue": "of which overdue",
        "past_due": "{days} days past due",
        "receivables_note": "Invoices issued by the month's last day and not paid by it, at "
        "their invoiced amounts; days past due are counted to the month's last day.",
        "part_paid": "As of {instant}, partial payments of {amount} are recorded on {count} of "
        "these invoices (a partial payment carries no date, so it is not placed in the month).",
        "other_currency": "Owed invoices in other currencies, left out of these amounts: {count}.",
        "reconciliation": "Reconciliation",
        "linked": "Linked automatically this month",
        "confirmed": "Confirmed by people this month",
        "declined": "Declined by people this month",
        "waiting": "Still waiting as of {instant}",
        "open_suggestions": "Suggestions still open",
        "unmatched": "Still unmatched",
        "records": "Records",
        "oldest": "Oldest (days)",
        "age_days": "{days} d",
        "kind_receipt": "Receipts",
        "kind_invoice": "Invoices",
        "kind_payment": "Payments",
        "no_waiting": "No records are waiting for a match.",
        "reconciliation_note": "Decisions count in the month they were taken. Open suggestions "
        "and unmatched records are as of {instant} (the report's generation), for records "
        "dated up to the month's end, aged to its last day: work done after the month changes "
        "them without making a new version of this report.",
        "agents": "Agents' activity",
        "unknown": "unknown",
        "cost_plus_unknown": "{cost} + unknown",
        "model_calls": "Model calls",
        "model_cost": "Model cost",
        "links": "Links made automatically",
        "insights": "Weekly insights delivered",
        "reminders": "Reminders sent",
        "no_price": "Model calls without a known price (model without a price, or tokens not "
        "reported): {count}; their cost is unknown, not zero.",
        "about": "About this report",
        "cutoff": "Data cut-off",
        "generated": "Generated",
        "version": "Report version",
        "mail_title": "Month-end report {month}",
        "mail_title_version": "Month-end report {month} (version {version})",
        "mail_body": "The month-end report for {team}, {month}, is ready; the PDF is attached to "
        "the e-mail.",
        "mail_new_version": "The books of the month changed since version {previous}: {reason}.",
        "mail_detail_changed": "details (categories, receivables, reconciliation, activity)",
        "content_sha": "Content SHA-256",
        "about_note": "Content SHA-256 is the SHA-256 of the report's figures as canonical JSON "
        "(every figure shown here, money with four decimals, dates and instants in ISO 8601 "
        "UTC, keys sorted, without the generation instant): {function}. It identifies the "
        "figures; the file's own checksum is stored beside it, since a PDF cannot contain the "
        "hash of its own bytes.",
    },
    "de": {
        "kicker": "MONATSABSCHLUSS",
        "doc_title": "Monatsabschluss {month}: {team}",
        "amounts": "Beträge in {currency} · Zeitzone {zone} · Daten bis {cutoff}",
        "empty_title": "Keine Buchungen im {month}.",
        "empty_body": "Die Bankanbindungen haben für dieses Team keine Buchung mit Datum in "
        "diesem Monat geliefert; es gibt daher keine Einnahmen, Ausgaben oder "
        "Zahlungsbewegungen auszuweisen.",
        "summary": "Übersicht",
        "change": "Änderung",
        "revenue": "Einnahmen",
        "expenses": "Ausgaben",
        "net": "Ergebnis",
        "transactions": "Buchungen",
        "no_data": "keine Daten",
        "unconverted": "Buchungen ohne Betrag in {currency}, in diesen Summen nicht enthalten: "
        "{count}.",
        "categories": "Ausgaben nach Kategorie",
        "no_expenses": "Keine Ausgaben in diesem Monat.",
        "category": "Kategorie",
        "amount": "Betrag",
        "share": "Anteil",
        "weeks": "Ein- und Auszahlungen pro Woche",
        "week": "Woche",
        "days": "Tage",
        "cash_in": "Einzahlungen",
        "cash_out": "Auszahlungen",
        "balance": "Saldo",
        "receivables": "Forderungen",
        "invoices": "Rechnungen",
        "invoiced_amount": "Rechnungsbetrag",
        "owed": "Offen am Monatsende",
        "overdue": "davon überfällig",
        "past_due": "{days} Tage überfällig",
        "receivables_note": "Rechnungen, die bis zum letzten Tag des Monats gestellt und bis "
        "dahin nicht bezahlt wurden, zum Rechnungsbetrag; die Tage der Überfälligkeit werden "
        "bis zum letzten Tag des Monats gezählt.",
        "part_paid": "Stand {instant} sind auf {count} dieser Rechnungen Teilzahlungen von "
        "{amount} erfasst (eine Teilzahlung trägt kein Datum und wird daher keinem Monat "
        "zugeordnet).",
        "other_currency": "Offene Rechnungen in anderen Währungen, in diesen Beträgen nicht "
        "enthalten: {count}.",
        "reconciliation": "Abgleich",
        "linked": "In diesem Monat automatisch verknüpft",
        "confirmed": "In diesem Monat manuell bestätigt",
        "declined": "In diesem Monat manuell abgelehnt",
        "waiting": "Noch offen, Stand {instant}",
        "open_suggestions": "Offene Vorschläge",
        "unmatched": "Nicht zugeordnet",
        "records": "Posten",
        "oldest": "Älteste (Tage)",
        "age_days": "{days} T.",
        "kind_receipt": "Belege",
        "kind_invoice": "Rechnungen",
        "kind_payment": "Zahlungen",
        "no_waiting": "Keine Posten warten auf eine Zuordnung.",
        "reconciliation_note": "Entscheidungen zählen in dem Monat, in dem sie getroffen "
        "wurden. Offene Vorschläge und nicht zugeordnete Posten zeigen den Stand {instant} "
        "(Erstellung des Berichts), für Posten mit Datum bis zum Monatsende, gealtert bis zu "
        "dessen letztem Tag: Was nach dem Monat erledigt wird, ändert sie, ohne eine neue "
        "Version dieses Berichts zu erzeugen.",
        "agents": "Aktivität der Agenten",
        "unknown": "unbekannt",
        "cost_plus_unknown": "{cost} + unbekannt",
        "model_calls": "Modellaufrufe",
        "model_cost": "Modellkosten",
        "links": "Automatisch erstellte Verknüpfungen",
        "insights": "Zugestellte Wochenauswertungen",
        "reminders": "Versandte Zahlungserinnerungen",
        "no_price": "Modellaufrufe ohne bekannten Preis (Modell ohne Preis oder keine "
        "Token-Angaben): {count}; ihre Kosten sind unbekannt, nicht null.",
        "about": "Über diesen Bericht",
        "cutoff": "Datenstand",
        "generated": "Erstellt",
        "version": "Berichtsversion",
        "mail_title": "Monatsabschluss {month}",
        "mail_title_version": "Monatsabschluss {month} (Version {version})",
        "mail_body": "Der Monatsabschluss von {team} für {month} liegt vor; das PDF ist der E-Mail "
        "angehängt.",
        "mail_new_version": "Die Buchungen des Monats haben sich seit Version {previous} geändert: "
        "{reason}.",
        "mail_detail_changed": "Einzelheiten (Kategorien, Forderungen, Abgleich, Aktivität)",
        "content_sha": "Inhalts-SHA-256",
        "about_note": "Der Inhalts-SHA-256 ist der SHA-256 der Zahlen dieses Berichts als "
        "kanonisches JSON (alle hier gezeigten Zahlen, Beträge mit vier Nachkommastellen, Daten "
        "und Zeitpunkte in ISO 8601 UTC, Schlüssel sortiert, ohne den Erstellungszeitpunkt): "
        "{function}. Er kennzeichnet die Zahlen; die Prüfsumme der Datei selbst wird daneben "
        "gespeichert, da ein PDF den Hash seiner eigenen Bytes nicht enthalten kann.",
    },
    "fr": {
        "kicker": "RAPPORT DE CLÔTURE MENSUELLE",
        "doc_title": f"Rapport de clôture mensuelle {{month}}{NBSP}: {{team}}",
        "amounts": "Montants en {currency} · fuseau horaire {zone} · données jusqu’au {cutoff}",
        "empty_title": "Aucune opération en {month}.",
        "empty_body": "Les flux bancaires n’ont livré aucune écriture datée de ce mois pour "
        f"cette équipe{NBSP}; il n’y a donc ni recettes, ni dépenses, ni mouvements de "
        "trésorerie à présenter.",
        "summary": "Synthèse",
        "change": "Variation",
        "revenue": "Recettes",
        "expenses": "Dépenses",
        "net": "Résultat net",
        "transactions": "Opérations",
        "no_data": "aucune donnée",
        "unconverted": f"Opérations sans montant en {{currency}}, exclues de ces totaux{NBSP}: "
        "{count}.",
        "categories": "Dépenses par catégorie",
        "no_expenses": "Aucune dépense ce mois-ci.",
        "category": "Catégorie",
        "amount": "Montant",
        "share": "Part",
        "weeks": "Entrées et sorties de trésorerie par semaine",
        "week": "Semaine",
        "days": "Jours",
        "cash_in": "Entrées",
        "cash_out": "Sorties",
        "balance": "Solde",
        "receivables": "Créances",
        "invoices": "Factures",
        "invoiced_amount": "Montant facturé",
        "owed": "Dues à la fin du mois",
        "overdue": "dont échues",
        "past_due": "{days} jours de retard",
        "receivables_note": "Factures émises au plus tard le dernier jour du mois et non "
        f"réglées à cette date, à leur montant facturé{NBSP}; les jours de retard sont "
        "comptés jusqu’au dernier jour du mois.",
        "part_paid": "Au {instant}, des paiements partiels de {amount} sont enregistrés sur "
        "{count} de ces factures (un paiement partiel ne porte pas de date, il n’est donc "
        "rattaché à aucun mois).",
        "other_currency": "Factures dues en d’autres devises, exclues de ces montants"
        f"{NBSP}: {{count}}.",
        "reconciliation": "Rapprochement",
        "linked": "Rapprochés automatiquement ce mois-ci",
        "confirmed": "Confirmés par l’équipe ce mois-ci",
        "declined": "Refusés par l’équipe ce mois-ci",
        "waiting": "En attente au {instant}",
        "open_suggestions": "Suggestions encore ouvertes",
        "unmatched": "Non rapprochés",
        "records": "Éléments",
        "oldest": "Plus ancien (j)",
        "age_days": "{days} j",
        "kind_receipt": "Justificatifs",
        "kind_invoice": "Factures",
        "kind_payment": "Paiements",
        "no_waiting": "Aucun élément n’attend de rapprochement.",
        "reconciliation_note": "Les décisions comptent dans le mois où elles ont été prises. "
        "Les suggestions ouvertes et les éléments non rapprochés sont donnés au {instant} "
        "(génération du rapport), pour les éléments datés jusqu’à la fin du mois, avec leur "
        f"ancienneté au dernier jour de celui-ci{NBSP}: le travail fait après le mois les "
        "modifie sans créer de nouvelle version de ce rapport.",
        "agents": "Activité des agents",
        "unknown": "inconnu",
        "cost_plus_unknown": "{cost} + inconnu",
        "model_calls": "Appels au modèle",
        "model_cost": "Coût des modèles",
        "links": "Rapprochements automatiques",
        "insights": "Analyses hebdomadaires envoyées",
        "reminders": "Relances envoyées",
        "no_price": "Appels au modèle sans prix connu (modèle sans tarif ou jetons non "
        f"déclarés){NBSP}: {{count}}{NBSP}; leur coût est inconnu, et non nul.",
        "about": "À propos de ce rapport",
        "cutoff": "Arrêté des données",
        "generated": "Généré le",
        "version": "Version du rapport",
        "mail_title": "Rapport de clôture mensuelle {month}",
        "mail_title_version": "Rapport de clôture mensuelle {month} (version {version})",
        "mail_body": "Le rapport de clôture mensuelle de {team} pour {month} est prêt\u00a0; "
        "le PDF est joint à l'e-mail.",
        "mail_new_version": "Les écritures du mois ont changé depuis la version {previous}"
        "\u00a0: {reason}.",
        "mail_detail_changed": "détails (catégories, créances, rapprochement, activité)",
        "content_sha": "SHA-256 du contenu",
        "about_note": "Le SHA-256 du contenu est le SHA-256 des chiffres du rapport en JSON "
        "canonique (tous les chiffres présentés ici, montants à quatre décimales, dates et "
        "instants en ISO 8601 UTC, clés triées, sans l’instant de génération)"
        f"{NBSP}: {{function}}. Il identifie les chiffres{NBSP}; la somme de contrôle du "
        "fichier lui-même est enregistrée à côté, car un PDF ne peut pas contenir le hachage "
        "de ses propres octets.",
    },
    "es": {
        "kicker": "INFORME DE CIERRE MENSUAL",
        "doc_title": "Informe de cierre mensual {month}: {team}",
        "amounts": "Importes en {currency} · zona horaria {zone} · datos hasta el {cutoff}",
        "empty_title": "Sin movimientos en {month}.",
        "empty_body": "Las conexiones bancarias no entregaron ningún movimiento con fecha de "
        "este mes para este equipo, por lo que no hay ingresos, gastos ni movimientos de caja "
        "que informar.",
        "summary": "Resumen",
        "change": "Variación",
        "revenue": "Ingresos",
        "expenses": "Gastos",
        "net": "Resultado",
        "transactions": "Movimientos",
        "no_data": "sin datos",
        "unconverted": "Movimientos sin importe en {currency}, excluidos de estas sumas: {count}.",
        "categories": "Gastos por categoría",
        "no_expenses": "Sin gastos este mes.",
        "category": "Categoría",
        "amount": "Importe",
        "share": "Porcentaje",
        "weeks": "Cobros y pagos por semana",
        "week": "Semana",
        "days": "Días",
        "cash_in": "Cobros",
        "cash_out": "Pagos",
        "balance": "Saldo",
        "receivables": "Cuentas por cobrar",
        "invoices": "Facturas",
        "invoiced_amount": "Importe facturado",
        "owed": "Pendiente al cierre del mes",
        "overdue": "del cual vencido",
        "past_due": "{days} días de atraso",
        "receivables_note": "Facturas emitidas hasta el último día del mes y no cobradas en esa "
        "fecha, por su importe facturado; los días de atraso se cuentan hasta el último día del "
        "mes.",
        "part_paid": "A fecha de {instant}, hay pagos parciales de {amount} registrados en "
        "{count} de estas facturas (un pago parcial no lleva fecha, por lo que no se asigna a "
        "ningún mes).",
        "other_currency": "Facturas pendientes en otras monedas, excluidas de estos importes: "
        "{count}.",
        "reconciliation": "Conciliación",
        "linked": "Vinculados automáticamente este mes",
        "confirmed": "Confirmados por personas este mes",
        "declined": "Rechazados por personas este mes",
        "waiting": "Pendiente a fecha de {instant}",
        "open_suggestions": "Sugerencias aún abiertas",
        "unmatched": "Sin conciliar",
        "records": "Registros",
        "oldest": "Más antiguo (d)",
        "age_days": "{days} d",
        "kind_receipt": "Recibos",
        "kind_invoice": "Facturas",
        "kind_payment": "Pagos",
        "no_waiting": "Ningún registro está pendiente de conciliación.",
        "reconciliation_note": "Las decisiones cuentan en el mes en que se tomaron. Las "
        "sugerencias abiertas y los registros sin conciliar se muestran a fecha de {instant} "
        "(generación del informe), para registros con fecha hasta el cierre del mes y con su "
        "antigüedad al último día: el trabajo hecho después del mes los cambia sin crear una "
        "nueva versión de este informe.",
        "agents": "Actividad de los agentes",
        "unknown": "desconocido",
        "cost_plus_unknown": "{cost} + desconocido",
        "model_calls": "Llamadas al modelo",
        "model_cost": "Coste de los modelos",
        "links": "Vínculos creados automáticamente",
        "insights": "Análisis semanales entregados",
        "reminders": "Recordatorios de pago enviados",
        "no_price": "Llamadas al modelo sin precio conocido (modelo sin precio o tokens no "
        "informados): {count}; su coste es desconocido, no cero.",
        "about": "Acerca de este informe",
        "cutoff": "Corte de datos",
        "generated": "Generado",
        "version": "Versión del informe",
        "mail_title": "Informe de cierre mensual {month}",
        "mail_title_version": "Informe de cierre mensual {month} (versión {version})",
        "mail_body": "El informe de cierre mensual de {team} de {month} está listo; el PDF va "
        "adjunto al correo.",
        "mail_new_version": "Los movimientos del mes cambiaron desde la versión {previous}: "
        "{reason}.",
        "mail_detail_changed": "detalles (categorías, cuentas por cobrar, conciliación, actividad)",
        "content_sha": "SHA-256 del contenido",
        "about_note": "El SHA-256 del contenido es el SHA-256 de las cifras del informe como "
        "JSON canónico (todas las cifras mostradas aquí, importes con cuatro decimales, fechas "
        "e instantes en ISO 8601 UTC, claves ordenadas, sin el instante de generación): "
        "{function}. Identifica las cifras; la suma de comprobación del propio archivo se "
        "guarda junto a él, ya que un PDF no puede contener el hash de sus propios bytes.",
    },
}


@dataclass(frozen=True)
class Texts:
    """The report's words in one language: ``texts("past_due", days="31-60")``."""

    language: str

    @staticmethod
    def of(language: str) -> Texts:
        """The texts for a locale's language code (``de``), English when there are none."""
        return Texts(language if language in TEXTS else "en")

    def __call__(self, key: str, **values: object) -> str:
        return TEXTS[self.language][key].format(**values)

    def kind(self, kind: str) -> str:
        """A record kind (receipt, invoice, payment) as a row label; an unknown kind as is."""
        return TEXTS[self.language].get(f"kind_{kind}", kind)
