//! The TikTok Shop shipping providers of each region, with the Shopify carrier names and service names
//! that mean them.
//!
//! Provider ids are those Get Shipping Providers returns; names are TikTok Shop's own spelling. Aliases
//! are compared normalized (lowercase letters and digits only) and are matched whole; `services` also
//! match as the start of a longer name ("FedEx Home Delivery" starts with the alias "FedEx").

use super::tracking::{Courier, CourierSet};
use crate::model::Region;

/// A TikTok Shop shipping provider as the catalog knows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CatalogProvider {
    /// The provider id.
    pub id: &'static str,
    /// The provider name, as TikTok Shop spells it.
    pub name: &'static str,
    /// Other names that mean it: Shopify's carrier names, common spellings and service names.
    pub aliases: &'static [&'static str],
    /// The couriers whose tracking-number formats it ships with.
    pub couriers: CourierSet,
}

const fn p(
    id: &'static str,
    name: &'static str,
    aliases: &'static [&'static str],
    couriers: CourierSet,
) -> CatalogProvider {
    CatalogProvider {
        id,
        name,
        aliases,
        couriers,
    }
}

const NONE: CourierSet = CourierSet::EMPTY;
const fn one(c: Courier) -> CourierSet {
    CourierSet::single(c)
}

/// The US providers.
pub const US: &[CatalogProvider] = &[
    p(
        "7117858858072016686",
        "USPS",
        &[
            "United States Postal Service",
            "US Postal Service",
            "USPS Priority Mail",
            "Priority Mail",
            "Priority Mail Express",
            "First Class",
            "First Class Mail",
            "Ground Advantage",
            "Media Mail",
            "Parcel Select",
        ],
        one(Courier::Usps),
    ),
    p(
        "7117859084333745966",
        "UPS",
        &[
            "United Parcel Service",
            "SurePost",
            "UPS SurePost",
            "UPS Ground",
        ],
        one(Courier::Ups),
    ),
    p(
        "7129720299146184490",
        "FedEx",
        &[
            "Federal Express",
            "FedEx Ground",
            "FedEx Home Delivery",
            "SmartPost",
            "FedEx SmartPost",
            "FedEx Ground Economy",
        ],
        one(Courier::Fedex),
    ),
    p(
        "7213986298535610158",
        "DHL express",
        &["DHL Express Worldwide", "DHL Worldwide Express"],
        one(Courier::DhlExpress),
    ),
    p(
        "7220301902846625579",
        "DHL eCommerce",
        &["DHL eCommerce Solutions", "DHL Global Mail", "DHL Parcel"],
        one(Courier::DhlEcommerce),
    ),
    p(
        "7248600717110282027",
        "Amazon Logistics",
        &["Amazon", "Amazon Shipping", "Amazon Logistics US"],
        one(Courier::AmazonLogistics),
    ),
    p(
        "7352738314622863120",
        "UniUni",
        &["Uni Uni", "UniUni Logistics"],
        one(Courier::UniUni),
    ),
    p(
        "7352739623900022544",
        "Gofo Express",
        &["Gofo", "GOFO"],
        one(Courier::Gofo),
    ),
    p(
        "7132708441138677550",
        "LaserShip",
        &["Laser Ship"],
        one(Courier::LaserShip),
    ),
    p(
        "7132721393761781550",
        "OnTrac",
        &["On Trac", "OnTrac Ground"],
        one(Courier::OnTrac),
    ),
    p("7212612330725574442", "Veho", &[], NONE),
    p("7212609771327719211", "OSM Worldwide", &["OSM"], NONE),
    p(
        "7212611208266909483",
        "TForce",
        &["TForce Final Mile", "TForce Freight"],
        NONE,
    ),
    p("7212608507307099946", "Better Trucks", &[], NONE),
    p(
        "7049196166784747269",
        "Asendia US",
        &["Asendia USA", "Asendia"],
        one(Courier::OtherPost),
    ),
    p(
        "7011400463266350850",
        "Yanwen",
        &["Yanwen Express"],
        one(Courier::OtherPost),
    ),
    p("7254084300713232174", "AxleHire", &["Axle Hire"], NONE),
    p("7254085043432195882", "Lone Star Overnight", &["LSO"], NONE),
    p("7260759364112221953", "Deliver-it", &["Deliverit"], NONE),
    p("7260760118063531777", "GLS US", &["GLS"], NONE),
    p("7443961280932611847", "GLS USA", &[], NONE),
    p(
        "7260761851384825602",
        "Spee-Dee Delivery",
        &["Spee-Dee", "Speedee", "Spee Dee Delivery Service"],
        one(Courier::SpeeDee),
    ),
    p("7260762638932510466", "Wizmo", &[], NONE),
    p(
        "7325327335803406082",
        "Speedx",
        &["SpeedX", "Speed X"],
        one(Courier::SpeedX),
    ),
    p("7347979279965095682", "First Mile", &["FirstMile"], NONE),
    p("7352734302007723792", "DoorDash", &["DoorDash Drive"], NONE),
    p("7352739982978582289", "ACI Logistix", &["ACI"], NONE),
    p("7372092091192575761", "GPS", &[], NONE),
    p("7403621511082280721", "Weee", &["Weee!"], NONE),
    p("7459702458671974152", "Cirro", &["Cirro eCommerce"], NONE),
    p("7468802168162617094", "PiggyShip", &["Piggy Ship"], NONE),
    p("7475569110803908358", "Western Post", &[], NONE),
    p(
        "7475848549314332421",
        "DeliverDirect",
        &["Deliver Direct"],
        NONE,
    ),
    p(
        "7482927909624088338",
        "Cainiao US",
        &["Cainiao"],
        one(Courier::OtherPost),
    ),
    p(
        "7482929018279298834",
        "Tusk Logisitics",
        &["Tusk Logistics", "Tusk"],
        NONE,
    ),
    // Freight and heavyweight carriers (ids as connectors document them; Shopify's names as aliases).
    p("7443957391328020232", "Ceva Logistics", &["CEVA"], NONE),
    p(
        "7443960654106461959",
        "Pilot Freight Services",
        &["Pilot Freight", "Pilot"],
        NONE,
    ),
    p("7443960918918039303", "Mainfreight", &[], NONE),
    p(
        "7443962159819654919",
        "Freightquote by C.H. Robinson",
        &["Freightquote", "C.H. Robinson", "CH Robinson"],
        NONE,
    ),
    p(
        "7443962761375123207",
        "Tazmanian Freight Systems",
        &["Tazmanian Freight"],
        NONE,
    ),
    p("7443963002103006984", "Metropolitan", &[], NONE),
    p("7443963103403837192", "ABF Freight", &["ABF"], NONE),
    p("7443963680233899783", "Saia Inc.", &["Saia"], NONE),
    p(
        "7443963761360111378",
        "Daylight Transport",
        &["Daylight"],
        NONE,
    ),
    p(
        "7443963984505472776",
        "Day & Ross Freight",
        &["Day & Ross", "Day and Ross"],
        NONE,
    ),
    p(
        "7443964819356518162",
        "Southeastern Freight Lines",
        &["Southeastern Freight", "SEFL"],
        NONE,
    ),
    p(
        "7443965081018189576",
        "Roadrunner Freight",
        &["Roadrunner"],
        NONE,
    ),
    p(
        "7443965216620021522",
        "Dayton Freight Lines",
        &["Dayton Freight"],
        NONE,
    ),
    p(
        "7443965284153165586",
        "Fastfrate Group",
        &["Fastfrate"],
        NONE,
    ),
    p(
        "7443965466114033416",
        "CrossCountry Freight Solutions",
        &["CrossCountry Freight"],
        NONE,
    ),
    p("7443965673564276487", "PS Logistics", &[], NONE),
    p("7443965834688464658", "JP Express", &[], NONE),
    p("7443966039123035911", "Tax-Air", &[], NONE),
    p(
        "7443966093628344071",
        "Oak Harbor Freight Lines",
        &["Oak Harbor Freight", "Oak Harbor"],
        NONE,
    ),
    p("7443967306838836999", "DHL Heavyweight", &[], NONE),
    p("7443967395145729810", "UPS Heavyweight", &[], NONE),
    p("7443971189820622610", "XPO", &["XPO Logistics"], NONE),
    p(
        "7443972065616463623",
        "Estes Express Lines",
        &["Estes", "Estes Express"],
        NONE,
    ),
    p(
        "7443972524611733256",
        "R+L Carriers",
        &["R+L", "R&L Carriers", "R and L Carriers"],
        NONE,
    ),
    p("7443972918754674450", "Central Transport", &[], NONE),
    p("7443973316697655048", "Averitt Express", &["Averitt"], NONE),
    p(
        "7443973716947502855",
        "Pitt Ohio",
        &["Pitt Ohio Express"],
        NONE,
    ),
    p(
        "7443974197195310866",
        "AAA Cooper Transportation",
        &["AAA Cooper"],
        NONE,
    ),
    p(
        "7443974531196143368",
        "A. Duie Pyle",
        &["A Duie Pyle", "Pyle"],
        NONE,
    ),
    p(
        "7444679050045425415",
        "Old Dominion Freight Line USA",
        &["Old Dominion", "Old Dominion Freight Line", "ODFL"],
        NONE,
    ),
];

/// The UK providers.
pub const UK: &[CatalogProvider] = &[
    p(
        "6599541761693270018",
        "EVRi",
        &["Evri", "Hermes", "myHermes", "Hermes UK"],
        one(Courier::Evri),
    ),
    p(
        "6639580521074524161",
        "DHL UK",
        &["DHL Parcel UK", "DHL Parcel"],
        one(Courier::DhlUk),
    ),
    p(
        "6641219975896514562",
        "Yodel UK",
        &["Yodel", "Yodel Direct"],
        one(Courier::Yodel),
    ),
    p("6649195729745887233", "UK Mail", &[], NONE),
    p(
        "6657598289359323137",
        "DPD UK",
        &["DPD", "DPD Local", "DPD Local UK"],
        one(Courier::DpdUk),
    ),
    p(
        "6658174162568658945",
        "DX Delivery",
        &["DX", "DX Freight", "DX Express"],
        NONE,
    ),
    p(
        "6671794738251726849",
        "Royal Mail",
        &[
            "Royal Mail Tracked 24",
            "Royal Mail Tracked 48",
            "Tracked 24",
            "Tracked 48",
            "Special Delivery",
            "Royal Mail Special Delivery",
        ],
        one(Courier::RoyalMail),
    ),
    p(
        "6699476450581430274",
        "Parcel Force",
        &["Parcelforce", "Parcelforce Worldwide"],
        one(Courier::ParcelForce),
    ),
    p("6760565269699084290", "APC Overnight", &["APC"], NONE),
    p("6760727669580627970", "Panther UK", &["Panther"], NONE),
    p(
        "7265220402182358786",
        "Amazon Logistics UK",
        &["Amazon", "Amazon Logistics", "Amazon Shipping"],
        one(Courier::AmazonLogistics),
    ),
    // Continental carriers TikTok Shop lists for UK and EU shops (as connectors document them).
    p("7038796963025782530", "DHL Paket", &["DHL Parcel DE"], NONE),
    p("7073406403947267841", "La Poste", &[], NONE),
    p("7038794268994963202", "Colissimo", &[], NONE),
    p("7038794025851160321", "Colis Privé", &["Colis Prive"], NONE),
];

/// Names that could mean several providers of a region, settled by the tracking number or a mapping.
pub const AMBIGUOUS: &[(Region, &str, &[&str])] = &[
    (Region::Us, "DHL", &["DHL eCommerce", "DHL express"]),
    (Region::Uk, "DHL", &["DHL UK"]),
];

/// The providers of a region.
#[must_use]
pub const fn providers(region: Region) -> &'static [CatalogProvider] {
    match region {
        Region::Us => US,
        Region::Uk => UK,
    }
}

impl crate::json::ToJson for CatalogProvider {
    fn write_json(&self, out: &mut String) {
        crate::json::ObjectWriter::new(out)
            .field("id", self.id)
            .field("name", self.name)
            .field("aliases", self.aliases)
            .end();
    }
}
