// Importing this module registers every gradient rule.
import './elementwise';
import './linalg';
import './conv';
import './pool';
import './norm';
import './reduce';
import './shape';
import './resize';
import './trig';
import './gridSample';
